// `listflow members unsubscribed <list>`: who left the list, when and how (the audit the one-click endpoint writes).
import { addressKey } from '../mail/address.js';
import { listUnsubscriptions } from '../store/unsubscriptions.js';
import type { Context } from './context.js';
import { requireList } from './lists.js';
import { CliError } from './errors.js';
import { clean, json, table, when } from './output.js';

export async function membersUnsubscribed(ctx: Context, listText: string, opts: { limit?: string; json?: boolean }): Promise<void> {
  const limit = opts.limit === undefined ? 1000 : Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new CliError(`--limit ${opts.limit}: give a whole number of rows, 1 or more`);
  // The record outlives a deleted list, so it is asked first; the list must exist only when there is nothing to show.
  const rows = await listUnsubscriptions(await ctx.db(), addressKey(listText), limit);
  if (rows.length === 0) await requireList(ctx, listText);
  if (opts.json) {
    ctx.out(json(rows.map((r) => ({ address: r.address, via: r.via, at: r.at.toISOString() }))));
    return;
  }
  if (rows.length === 0) {
    ctx.out(`${addressKey(listText)}: no unsubscriptions recorded\n`);
    return;
  }
  ctx.out(table(['ADDRESS', 'VIA', 'AT'], rows.map((r) => [clean(r.address), clean(r.via), when(r.at.toISOString())])));
}
