// `listflow approve|reject|discard <id>`: a moderator's decision through the post's `moderate` update.
import { ApplicationFailure, WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError, type WorkflowHandle } from '@temporalio/client';
import { moderateUpdate, type ModerationDecision, type PostStatus } from '../workflows/messages.js';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { describeFate, fateOf } from './fate.js';
import { resolveId } from './resolve-id.js';
import { isUnavailable, unreachableMessage } from './temporal.js';

/** An update waits for a worker to run it; without one, give up rather than hang. */
export const UPDATE_TIMEOUT_MS = 30_000;

const DONE: Record<ModerationDecision['action'], string> = { approve: 'approved', reject: 'rejected', discard: 'discarded' };

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

export async function moderate(ctx: Context, action: ModerationDecision['action'], idText: string, opts: { reason?: string }): Promise<void> {
  const id = await resolveId(ctx, idText);
  if (!id.startsWith('post/')) throw new CliError(`${id} is not a post; only posts are held for moderation`);
  const { client, connection } = await ctx.temporal();
  const handle = client.workflow.getHandle(id);
  const decision: ModerationDecision = { action, by: ctx.actor, ...(opts.reason ? { reason: opts.reason } : {}) };
  let status: PostStatus;
  try {
    status = await connection.withDeadline(Date.now() + UPDATE_TIMEOUT_MS, () => handle.executeUpdate(moderateUpdate, { args: [decision] }));
  } catch (err) {
    throw await explain(ctx, err, id, handle, action);
  }
  ctx.out(`${DONE[action]} ${id} (it is ${status.state} now)\n`);
}

export const approve = (ctx: Context, id: string, opts: { reason?: string }) => moderate(ctx, 'approve', id, opts);
export const reject = (ctx: Context, id: string, opts: { reason?: string }) => moderate(ctx, 'reject', id, opts);
export const discard = (ctx: Context, id: string, opts: { reason?: string }) => moderate(ctx, 'discard', id, opts);
