// `listflow approve|reject|discard|defer <id>`: a moderator's decision through the post's `moderate` update.
import { readFile } from 'node:fs/promises';
import { ApplicationFailure, WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError, type WorkflowHandle } from '@temporalio/client';
import { editedMessageProblem, normalizeLineEnds } from '../mail/edited.js';
import { putMessage } from '../store/messages.js';
import { moderateSubscriptionUpdate, moderateUpdate, type ModerationDecision, type PostStatus, type SubscriptionStatus } from '../workflows/messages.js';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { describeFate, fateOf } from '../runtime/fate.js';
import { resolveId } from './resolve-id.js';
import { count, when } from './output.js';
import { isUnavailable, unreachableMessage } from './temporal.js';

/** An update waits for a worker to run it; without one, give up rather than hang. */
export const UPDATE_TIMEOUT_MS = 30_000;

const DONE: Record<ModerationDecision['action'], string> = { approve: 'approved', reject: 'rejected', discard: 'discarded', defer: 'deferred' };

export interface ModerateOptions {
  reason?: string;
  /** defer: the note to keep with the post. */
  note?: string;
  /** approve: a file with the corrected message to deliver instead. */
  edited?: string;
}

/**
 * Reads and checks a moderator's edited message and stores it; returns its hash. Only the hash goes to the
 * workflow (claim check): message bytes never travel through Temporal.
 */
export async function storeEdited(ctx: Context, file: string): Promise<string> {
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch (err) {
    throw new CliError(`cannot read the edited message ${file}: ${(err as Error).message}`);
  }
  const problem = editedMessageProblem(raw, ctx.config.maxMessageBytes);
  if (problem) throw new CliError(`the edited message ${file} ${problem}; nothing was approved`);
  return putMessage(await ctx.db(), normalizeLineEnds(raw));
}

async function explain(ctx: Context, err: unknown, id: string, handle: WorkflowHandle, action: ModerationDecision['action']): Promise<unknown> {
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
    if (err.cause.type === 'NotHeld') {
      const state = /\(it is (\w+)\)/.exec(err.cause.message)?.[1];
      return new CliError(`${id} is not held any more${state ? ` (it is ${state})` : ''}`);
    }
    return new CliError(`${id}: ${err.cause.message}`);
  }
  if (err instanceof WorkflowNotFoundError) {
    // Updates reach only running workflows: tell a finished post from one that never existed.
    try {
      return new CliError(`${id} is not held any more (${describeFate(await fateOf(handle))})`);
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return new CliError(`there is no workflow ${id} (see: listflow held)`);
      return e;
    }
  }
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
    return new CliError(
      `no listflow worker took the decision within ${UPDATE_TIMEOUT_MS / 1000}s, so ${id} may not be ${DONE[action]}: is listflow running? (check: listflow status ${id})`,
    );
  }
  if (isUnavailable(err)) return new CliError(unreachableMessage(ctx.config));
  return err;
}

export async function moderate(ctx: Context, action: ModerationDecision['action'], idText: string, opts: ModerateOptions): Promise<void> {
  if (opts.edited !== undefined && action !== 'approve') throw new CliError('--edited goes with approve only');
  if (opts.note !== undefined && action !== 'defer') throw new CliError(`--note goes with defer (use --reason with ${action})`);
  // The file is checked before anything else, so a bad one fails fast and leaves the post as it was.
  const editedSha256 = opts.edited !== undefined ? await storeEdited(ctx, opts.edited) : undefined;
  const id = await resolveId(ctx, idText);
  if (id.startsWith('subscription/')) return moderateRequest(ctx, action, id, opts);
  if (!id.startsWith('post/')) throw new CliError(`${id} is neither a post nor a subscription request; only those wait for moderators`);
  const { client, connection } = await ctx.temporal();
  const handle = client.workflow.getHandle(id);
  const decision: ModerationDecision = {
    action,
    by: ctx.actor,
    ...(opts.reason ? { reason: opts.reason } : {}),
    ...(action === 'defer' ? { note: opts.note ?? '' } : {}),
    ...(editedSha256 ? { editedSha256 } : {}),
  };
  let status: PostStatus;
  try {
    status = await connection.withDeadline(Date.now() + UPDATE_TIMEOUT_MS, () => handle.executeUpdate(moderateUpdate, { args: [decision] }));
  } catch (err) {
    throw await explain(ctx, err, id, handle, action);
  }
  if (action === 'defer') {
    const notes = status.decision.notes?.length ?? 0;
    ctx.out(`deferred ${id} (still held${status.heldUntil ? ` until ${when(status.heldUntil)}` : ''}; ${count(notes, 'note')})\n`);
    return;
  }
  const edit = editedSha256 ? ` with the edited message (sha256 ${editedSha256})` : '';
  ctx.out(`${DONE[action]} ${id}${edit} (it is ${status.state} now)\n`);
}

/** approve / reject / discard a subscription request (subscription/<list>/<address>) through its `moderate` update. */
async function moderateRequest(ctx: Context, action: ModerationDecision['action'], id: string, opts: ModerateOptions): Promise<void> {
  if (action === 'defer' || opts.edited !== undefined) throw new CliError(`${action === 'defer' ? 'defer' : '--edited'} is for posts, not subscription requests`);
  const { client, connection } = await ctx.temporal();
  const handle = client.workflow.getHandle(id);
  const decision: ModerationDecision = { action, by: ctx.actor, ...(opts.reason ? { reason: opts.reason } : {}) };
  let status: SubscriptionStatus;
  try {
    status = await connection.withDeadline(Date.now() + UPDATE_TIMEOUT_MS, () => handle.executeUpdate(moderateSubscriptionUpdate, { args: [decision] }));
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
      throw new CliError(`${id}: ${err.cause.message}`);
    }
    if (err instanceof WorkflowNotFoundError) throw new CliError(`${id} is not pending (no such request, or it has ended; see: listflow requests)`);
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
      throw new CliError(`no listflow worker took the decision within ${UPDATE_TIMEOUT_MS / 1000}s, so ${id} may not be ${DONE[action]}: is listflow running?`);
    }
    if (isUnavailable(err)) throw new CliError(unreachableMessage(ctx.config));
    throw err;
  }
  ctx.out(`${DONE[action]} ${id} (it is ${status.state} now${status.state === 'completed' ? `: ${status.detail}` : ''})\n`);
}

export const approve = (ctx: Context, id: string, opts: ModerateOptions) => moderate(ctx, 'approve', id, opts);
export const reject = (ctx: Context, id: string, opts: ModerateOptions) => moderate(ctx, 'reject', id, opts);
export const defer = (ctx: Context, id: string, opts: ModerateOptions) => moderate(ctx, 'defer', id, opts);

/** `discard <id>`, or with --all every held post from senders matching --from (cli/discard-all.ts). */
export async function discard(ctx: Context, id: string | undefined, opts: ModerateOptions & DiscardAllOptions): Promise<number | void> {
  if (opts.all) {
    if (id !== undefined) throw new CliError('give either a post <id> or --all --from <pattern>, not both');
    return (await import('./discard-all.js')).discardAll(ctx, opts);
  }
  for (const flag of ['from', 'list', 'ban'] as const) {
    if (opts[flag] !== undefined) throw new CliError(`--${flag} goes with --all (discard --all --from <pattern>)`);
  }
  if (id === undefined) throw new CliError('give the post <id> to discard, or --all --from <pattern>');
  return moderate(ctx, 'discard', id, opts);
}

export interface DiscardAllOptions {
  all?: boolean;
  from?: string;
  list?: string;
  ban?: boolean;
  reason?: string;
  json?: boolean;
}
