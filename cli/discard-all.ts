// `listflow discard --all --from <pattern> [--list L] [--ban]`: clears a flood of held spam in one command.
import { ApplicationFailure, WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { addBan } from '../store/bans.js';
import { getList } from '../store/lists.js';
import { moderateUpdate, type ModerationDecision } from '../workflows/messages.js';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { findHeld, listAddress, mapLimit, senderPattern } from './held.js';
import { UPDATE_TIMEOUT_MS, type DiscardAllOptions } from './moderate.js';
import { clean, count, json } from './output.js';
import { isUnavailable, unreachableMessage } from './temporal.js';

/** Updates in flight at once: enough to clear thousands quickly, few enough not to swamp one worker. */
const PARALLEL_UPDATES = 8;
/** Past this many, failures are counted but not each printed. */
const MAX_REPORTED = 20;

type Outcome = { kind: 'discarded' } | { kind: 'decided'; state: string } | { kind: 'failed'; error: string };

export interface DiscardAllResult {
  pattern: string;
  list: string | null;
  matched: number;
  discarded: string[];
  /** Decided by someone (or something) else between the listing and the update: left as they are. */
  alreadyDecided: string[];
  failed: { workflowId: string; error: string }[];
  bans: { list: string; added: boolean }[];
}

export async function discardAll(ctx: Context, opts: DiscardAllOptions): Promise<number> {
  if (opts.from === undefined) throw new CliError('--all needs --from <pattern>: an address, or ^regex for many senders');
  const pattern = senderPattern(opts.from);
  const list = opts.list === undefined ? undefined : listAddress(opts.list);
  const { client, connection } = await ctx.temporal();
  const matched = await findHeld(client, list, pattern);

  const result: DiscardAllResult = { pattern: pattern.text, list: list ?? null, matched: matched.length, discarded: [], alreadyDecided: [], failed: [], bans: [] };
  if (opts.ban) {
    // Banned before discarding, so the flood stops being held (the chain discards banned senders) while this runs.
    const db = await ctx.db();
    const lists = [...new Set([...(list ? [list] : []), ...matched.map((m) => m.list)])].sort();
    for (const address of lists) {
      const found = await getList(db, address);
      if (!found) {
        ctx.warn(`there is no list ${address}; ${pattern.text} is not banned there`);
        continue;
      }
      const added = await addBan(db, { listId: found.id, pattern: pattern.text, reason: opts.reason ?? `discard --all --from ${pattern.text}`, createdBy: ctx.actor });
      result.bans.push({ list: address, added });
    }
  }

  const decision: ModerationDecision = { action: 'discard', by: ctx.actor, reason: opts.reason ?? `discard --all --from ${pattern.text}` };
  const progress = process.stderr.isTTY && !opts.json && matched.length > 0;
  let done = 0;
  const outcomes = await mapLimit(matched, PARALLEL_UPDATES, async (wf): Promise<Outcome> => {
    let outcome: Outcome;
    try {
      const status = await connection.withDeadline(Date.now() + UPDATE_TIMEOUT_MS, () => client.workflow.getHandle(wf.workflowId).executeUpdate(moderateUpdate, { args: [decision] }));
      outcome = status.state === 'discarded' ? { kind: 'discarded' } : { kind: 'decided', state: status.state };
    } catch (err) {
      if (isUnavailable(err)) throw new CliError(unreachableMessage(ctx.config));
      outcome = classify(err);
    }
    done += 1;
    if (progress) process.stderr.write(`\rdiscarding held posts from ${clean(pattern.text)}: ${done}/${matched.length}`);
    return outcome;
  });
  if (progress) process.stderr.write('\n');

  outcomes.forEach((o, i) => {
    const id = (matched[i] as { workflowId: string }).workflowId;
    if (o.kind === 'discarded') result.discarded.push(id);
    else if (o.kind === 'decided') result.alreadyDecided.push(id);
    else result.failed.push({ workflowId: id, error: o.error });
  });
  result.discarded.sort();
  result.alreadyDecided.sort();

  if (opts.json) {
    ctx.out(json(result));
  } else {
    for (const f of result.failed.slice(0, MAX_REPORTED)) ctx.warn(`${f.workflowId}: ${f.error}`);
    if (result.failed.length > MAX_REPORTED) ctx.warn(`… and ${result.failed.length - MAX_REPORTED} more failures`);
    const where = list ? ` on ${list}` : '';
    const failed = result.failed.length ? `, ${result.failed.length} failed` : '';
    ctx.out(`discarded ${count(result.discarded.length, 'held post')} from ${pattern.text}${where} (${result.alreadyDecided.length} already decided${failed})\n`);
    for (const b of result.bans) ctx.out(b.added ? `banned ${pattern.text} on ${b.list}\n` : `${pattern.text} was already banned on ${b.list}\n`);
    if (opts.ban && result.bans.length === 0 && !list) ctx.out(`no held posts matched, so no list to ban ${pattern.text} on (give --list)\n`);
  }
  return result.failed.length > 0 ? 1 : 0;
}

function classify(err: unknown): Outcome {
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === 'NotHeld') {
    return { kind: 'decided', state: /\(it is (\w+)\)/.exec(err.cause.message)?.[1] ?? 'decided' };
  }
  // Updates reach running workflows only: this one finished since the listing.
  if (err instanceof WorkflowNotFoundError) return { kind: 'decided', state: 'finished' };
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return { kind: 'failed', error: `no listflow worker took the decision within ${UPDATE_TIMEOUT_MS / 1000}s: is listflow running?` };
  const e = err as Error;
  return { kind: 'failed', error: e.message };
}
