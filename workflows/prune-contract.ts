// The prune workflow's names and shapes, for the workflow, the activity that does the work, and operators' tools.
import { defineQuery, defineSignal } from '@temporalio/workflow';

/** One workflow per site (per namespace and task queue), so `temporal workflow describe -w prune/site` finds it. */
export const PRUNE_WORKFLOW_ID = 'prune/site';

/** What one activity call removed (rows unless named otherwise). */
export interface PruneCounts {
  /** Inbound records whose workflow was seen finished (or gone) this time: their retention clocks start. */
  finished: number;
  deliveries: number;
  posts: number;
  /** Raw messages released from their inbound record (the record stays as the idempotency record). */
  rawReleased: number;
  inbound: number;
  bounceEvents: number;
  digestIssues: number;
  digestSends: number;
  /** Used tokens, auto-reply counts and expired subscription requests. */
  expired: number;
  /** Message bodies deleted, whatever let them go. */
  messages: number;
  /** Posts whose row was kept because their list's digest still waits to send them. */
  keptForDigest: number;
}

export function zeroCounts(): PruneCounts {
  return { finished: 0, deliveries: 0, posts: 0, rawReleased: 0, inbound: 0, bounceEvents: 0, digestIssues: 0, digestSends: 0, expired: 0, messages: 0, keptForDigest: 0 };
}

export function addCounts(a: PruneCounts, b: PruneCounts): PruneCounts {
  const out = { ...a };
  for (const k of Object.keys(out) as (keyof PruneCounts)[]) out[k] += b[k];
  return out;
}

export interface PruneRunResult {
  counts: PruneCounts;
  /** The time budget ran out with work left: call again at once. */
  more: boolean;
  /** The site's prune_interval_hours, read this time. */
  intervalHours: number;
  /** The retention in force, in days (0: kept for ever), as this run applied it. */
  retention: { rawDays: number; ledgerDays: number; inboundDays: number; bounceEventsDays: number };
}

export interface PruneInput {
  /** Carried across continue-as-new. */
  runs?: number;
  totals?: PruneCounts;
  last?: PruneRunSummary | null;
  /** Runs per execution before continuing as new (tests make it small). */
  runsPerExecution?: number;
  /** The activity's time budget per call, in seconds. */
  budgetSeconds?: number;
}

export interface PruneRunSummary {
  startedAt: string;
  endedAt: string;
  calls: number;
  counts: PruneCounts;
  retention: PruneRunResult['retention'];
}

export interface PruneStatus {
  state: 'pruning' | 'waiting';
  runs: number;
  /** Runs in this execution; the execution continues as new after runsPerExecution. */
  runsThisExecution: number;
  nextRunAt: string | null;
  last: PruneRunSummary | null;
  totals: PruneCounts;
}

export const pruneStatusQuery = defineQuery<PruneStatus>('status');
/** Run now instead of at the next timer (`temporal workflow signal -w prune/site --name pruneNow`). */
export const pruneNowSignal = defineSignal('pruneNow');
