// Turns what a moderator typed — a workflow ID or a message's 16-hex short key — into one workflow ID.
import { isShortKey } from '../mail/ids.js';
import { findInboundByKey } from '../store/messages.js';
import type { Context } from './context.js';
import { CliError } from './errors.js';

/** A full ID needs nothing; a short key is looked up in the inbound record (the database), preferring posts. */
export async function resolveId(ctx: Context, text: string): Promise<string> {
  const id = text.trim();
  if (id.includes('/')) return id;
  const key = id.toLowerCase();
  if (!isShortKey(key)) {
    throw new CliError(`"${id}" is neither a workflow ID (post/<list>/<key>) nor a message key (16 hex digits)`);
  }
  const found = await findInboundByKey(await ctx.db(), key);
  const posts = found.filter((f) => f.kind === 'post');
  const candidates = posts.length > 0 ? posts : found;
  const only = candidates[0];
  if (!only) throw new CliError(`no message with key ${key} was received (see: listflow held)`);
  if (candidates.length > 1) {
    throw new CliError(`the key ${key} names ${candidates.length} workflows; give one of them in full:\n${candidates.map((c) => `  ${c.workflowId}`).join('\n')}`);
  }
  return only.workflowId;
}
