// `listflow bans …`: ban addresses or ^patterns from one list (--list) or the whole site.
import { parseAddressPattern, PatternError } from '../mail/patterns.js';
import { addBan, listBans, removeBan } from '../store/bans.js';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { requireList } from './lists.js';
import { clean, json, table, when } from './output.js';

async function scope(ctx: Context, list?: string): Promise<{ listId: number | null; name: string }> {
  if (!list) return { listId: null, name: 'site-wide' };
  const l = await requireList(ctx, list);
  return { listId: l.id, name: `on ${l.address}` };
}

export async function bansAdd(ctx: Context, pattern: string, opts: { list?: string; reason?: string }): Promise<void> {
  const { listId, name } = await scope(ctx, opts.list);
  if (opts.reason !== undefined && /[\r\n]/.test(opts.reason)) throw new CliError('--reason must be one line');
  let added: boolean;
  try {
    added = await addBan(await ctx.db(), { listId, pattern, reason: opts.reason ?? '', createdBy: ctx.actor });
  } catch (err) {
    if (err instanceof PatternError) throw new CliError(`${pattern}: ${err.message}`);
    throw err;
  }
  ctx.out(added ? `banned ${pattern.trim()} ${name}\n` : `${pattern.trim()} was already banned ${name}\n`);
}

export async function bansRemove(ctx: Context, pattern: string, opts: { list?: string }): Promise<void> {
  const { listId, name } = await scope(ctx, opts.list);
  if (!(await removeBan(await ctx.db(), listId, pattern))) {
    throw new CliError(`${pattern.trim()} is not banned ${name} (see: listflow bans list${opts.list ? ` --list ${opts.list}` : ''})`);
  }
  ctx.out(`unbanned ${pattern.trim()} ${name}\n`);
}

export async function bansList(ctx: Context, opts: { list?: string; json?: boolean }): Promise<void> {
  const { listId, name } = await scope(ctx, opts.list);
  const bans = await listBans(await ctx.db(), listId);
  if (opts.json) {
    ctx.out(json(bans));
    return;
  }
  if (bans.length === 0) {
    ctx.out(`no bans ${name}\n`);
    return;
  }
  ctx.out(table(['PATTERN', 'REASON', 'BY', 'SINCE'], bans.map((b) => [clean(b.pattern), clean(b.reason), clean(b.createdBy), when(b.createdAt)])));
  // A row stored before patterns were RE2 (or edited by hand) holds every post it would be tested on.
  for (const b of bans) {
    try {
      parseAddressPattern(b.pattern);
    } catch (err) {
      if (!(err instanceof PatternError)) throw err;
      ctx.warn(`note: the ban ${clean(b.pattern)} cannot be used, so posts it is tested on are held: ${clean(err.message)} (remove it with listflow bans remove)`);
    }
  }
}
