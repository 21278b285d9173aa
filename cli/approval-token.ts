// `listflow lists approval-token <list>`: a moderator token for `Approved:`, signed for one list, that expires.
import { AddressError, addressKey, normalizeAddress } from '../mail/address.js';
import { issueToken } from '../mail/tokens.js';
import { siteSecret } from '../store/db.js';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { json } from './output.js';
import { requireList } from './lists.js';

const MAX_DAYS = 366;

export async function approvalToken(ctx: Context, name: string, opts: { days?: string; for?: string; json?: boolean }): Promise<void> {
  const days = Number(opts.days ?? '30');
  if (!/^\d+$/.test(opts.days ?? '30') || days < 1 || days > MAX_DAYS) throw new CliError(`--days must be a whole number from 1 to ${MAX_DAYS}`);
  let holder = ctx.actor;
  if (opts.for !== undefined) {
    try {
      holder = addressKey(normalizeAddress(opts.for));
    } catch (err) {
      throw new CliError(`--for: ${(err as AddressError).message}`);
    }
  }
  const list = await requireList(ctx, name);
  const expiresAt = Math.floor(Date.now() / 1000) + days * 86_400;
  // The holder's name is carried (and signed) so the verdict can say whose token approved a post.
  const token = issueToken(await siteSecret(await ctx.db()), { kind: 'approval', action: 'approve', list: list.address, ref: Buffer.from(holder.slice(0, 64)), expiresAt });
  const until = new Date(expiresAt * 1000).toISOString();
  if (opts.json) {
    ctx.out(json({ list: list.address, token, issuedTo: holder.slice(0, 64), expiresAt: until }));
    return;
  }
  ctx.out(
    `${token}\n` +
      `A moderator token for ${list.address}, issued to ${holder.slice(0, 64)}, valid until ${until}.\n` +
      `Put "Approved: <token>" in a post's header or first body line to post past moderation; the line is removed before delivery.\n`,
  );
}
