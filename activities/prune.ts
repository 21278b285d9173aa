// The prune activity: finds which accepted mail's workflows have finished (Temporal is asked, never guessed
// from the clock), then removes, batch by batch, what the retention settings say is no longer needed.
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { SiteSettings } from '../mail/site-settings.js';
import type { Db } from '../store/db.js';
import {
  closeLedgers,
  deleteBounceEvents,
  deleteDeliveries,
  deleteDigestIssues,
  deleteExpired,
  deleteInboundRecords,
  deleteOrphans,
  ledgerDue,
  loadOrphanScan,
  markFinished,
  oldestUnfinished,
  releaseRaw,
  saveOrphanScan,
  unfinishedInbound,
  type Cursor,
} from '../store/prune.js';
import { loadSiteSettings } from '../store/site-settings.js';
import { digestStatusQuery, digestWorkflowId } from '../workflows/messages.js';
import { zeroCounts, type PruneCounts, type PruneRunResult } from '../workflows/prune-contract.js';
import { withHeartbeat } from './deliver.js';
import type { ActivityDeps } from './deps.js';

const DAY_MS = 86_400_000;

/** What Temporal says of a workflow: still running, closed (when), or not known to it at all. */
export type WorkflowFate = { kind: 'running' } | { kind: 'closed'; at: Date } | { kind: 'gone' };

/** What the pruner asks Temporal; a fake in tests, the worker's client in production. */
export interface WorkflowLookup {
  /** Workflows it could not ask about are left out (they are asked again next run). */
  fates(workflowIds: string[]): Promise<Map<string, WorkflowFate>>;
  /** Post workflow IDs a list's digest still waits to send; null when that cannot be known now. */
  digestPending(list: string): Promise<Set<string> | null>;
}

/** When each retention ends, as instants: rows older than these go. null: kept for ever. */
export interface PruneCutoffs {
  now: Date;
  /** A complete scan for orphaned messages runs at most this often (ms): it reads every stored message. */
  orphanScanEvery: number;
  /** Workflows received before this are asked whether they finished (younger ones surely run). */
  askBefore: Date;
  /** A workflow Temporal does not know, received before this, closed longer ago than the namespace retention. */
  goneBefore: Date;
  ledger: Date | null;
  raw: Date | null;
  inbound: Date;
  bounceEvents: Date | null;
  /** A message stored (or stored again) after this is never deleted: ingress may be about to reference it. */
  storedBefore: Date;
  expired: { tokens: Date; autoreplies: Date; requests: Date };
}

/** Retention days as applied: the inbound record never outlives less than Temporal's own memory of the ID. */
export function retentionOf(s: SiteSettings, namespaceRetentionDays: number): PruneRunResult['retention'] {
  return {
    rawDays: s.retention_raw_days,
    ledgerDays: s.retention_ledger_days,
    inboundDays: Math.max(s.retention_inbound_days, Math.ceil(namespaceRetentionDays)),
    bounceEventsDays: s.retention_bounce_events_days,
  };
}

/** The cutoffs for `now`; `day` is a day's length (the bench shrinks it to run months in minutes). */
export function cutoffsFor(r: PruneRunResult['retention'], namespaceRetentionDays: number, now: Date, day = DAY_MS): PruneCutoffs {
  const ago = (days: number) => new Date(now.getTime() - days * day);
  const keep = (days: number) => (days === 0 ? null : ago(days));
  return {
    now,
    orphanScanEvery: 7 * day,
    askBefore: new Date(now.getTime() - Math.min(600_000, day / 24)),
    goneBefore: ago(namespaceRetentionDays),
    ledger: keep(r.ledgerDays),
    raw: keep(r.rawDays),
    inbound: ago(r.inboundDays),
    bounceEvents: keep(r.bounceEventsDays),
    storedBefore: new Date(now.getTime() - Math.min(3_600_000, day / 24)),
    expired: { tokens: ago(1), autoreplies: ago(2), requests: ago(Math.max(r.ledgerDays, 7)) },
  };
}

export interface PruneOptions {
  /** Rows per batch of the narrow tables (the ledger); message batches are a tenth of it. */
  batch: number;
  /** Stop after this long (ms) with `more` set; the workflow calls again. */
  budgetMs: number;
  /** Called after every batch: the activity heartbeats. */
  progress(counts: PruneCounts): void;
  /** VACUUM the tables a complete run deleted from (default true): the space is reused at once, whatever autovacuum's pace. */
  vacuum?: boolean;
}

/**
 * One pass over every retention concern, each in batches of its own short transaction, in the order that
 * keeps the invariants: a workflow's end is recorded first; its ledger and post row go before its inbound
 * record; a raw message goes only once nothing references it. Returns what went and whether work is left.
 */
export async function prune(db: Db, lookup: WorkflowLookup, c: PruneCutoffs, o: PruneOptions): Promise<{ counts: PruneCounts; more: boolean }> {
  const counts = zeroCounts();
  const deadline = Date.now() + o.budgetMs;
  const timeLeft = () => Date.now() < deadline;
  const step = () => o.progress(counts);
  const small = Math.max(1, Math.floor(o.batch / 10));

  // 1. Which workflows finished, and when (their close time, as Temporal recorded it).
  let after: Cursor | null = null;
  for (;;) {
    if (!timeLeft()) return { counts, more: true };
    const rows = await unfinishedInbound(db, c.askBefore, after, small);
    if (rows.length === 0) break;
    const last = rows[rows.length - 1]!;
    after = last.cursor;
    const fates = await lookup.fates(rows.map((r) => r.workflowId));
    const finished: { workflowId: string; finishedAt: Date }[] = [];
    for (const r of rows) {
      const fate = fates.get(r.workflowId);
      if (fate?.kind === 'closed') finished.push({ workflowId: r.workflowId, finishedAt: fate.at });
      // Unknown to Temporal: closed longer ago than it remembers, or never started (a 451). Only once the
      // namespace retention has passed since it came can neither be a workflow that still runs.
      else if (fate?.kind === 'gone' && r.receivedAt < c.goneBefore) finished.push({ workflowId: r.workflowId, finishedAt: r.receivedAt });
    }
    await markFinished(db, finished);
    counts.finished += finished.length;
    step();
  }

  // 2. The delivery ledger and post rows of workflows finished before the ledger cutoff.
  if (c.ledger) {
    const digests = new Map<string, Set<string> | null>();
    after = null;
    for (;;) {
      if (!timeLeft()) return { counts, more: true };
      const due = await ledgerDue(db, c.ledger, after, small);
      if (due.length === 0) break;
      const last = due[due.length - 1]!;
      after = last.cursor;
      const ids = due.map((d) => d.workflowId);
      for (;;) {
        const n = await deleteDeliveries(db, ids, o.batch);
        counts.deliveries += n;
        step();
        if (n < o.batch) break;
        if (!timeLeft()) return { counts, more: true };
      }
      // A post its list's digest has yet to send keeps its row (and decorated message) until the issue is out.
      const closing: string[] = [];
      for (const d of due) {
        if (!digests.has(d.listAddress)) digests.set(d.listAddress, await lookup.digestPending(d.listAddress));
        const pending = digests.get(d.listAddress);
        if (pending === null || pending?.has(d.workflowId)) counts.keptForDigest += 1;
        else closing.push(d.workflowId);
      }
      const closed = await closeLedgers(db, closing, c.storedBefore);
      counts.posts += closed.posts;
      counts.messages += closed.messages;
      step();
    }
  }

  // 3. Raw messages of workflows finished before the raw cutoff (the inbound record stays, without its hash).
  if (c.raw) {
    for (;;) {
      if (!timeLeft()) return { counts, more: true };
      const r = await releaseRaw(db, c.raw, small, c.storedBefore);
      counts.rawReleased += r.records;
      counts.messages += r.messages;
      step();
      if (r.records < small) break;
    }
  }

  // 4. Bounce events, 5. old digest issues, 6. rows that expire by their own date.
  if (c.bounceEvents) {
    for (;;) {
      if (!timeLeft()) return { counts, more: true };
      const r = await deleteBounceEvents(db, c.bounceEvents, o.batch, c.storedBefore);
      counts.bounceEvents += r.events;
      counts.messages += r.messages;
      step();
      if (r.events < o.batch) break;
    }
  }
  if (c.ledger) {
    for (;;) {
      if (!timeLeft()) return { counts, more: true };
      const r = await deleteDigestIssues(db, c.ledger, o.batch, c.storedBefore);
      counts.digestSends += r.sends;
      counts.digestIssues += r.issues;
      counts.messages += r.messages;
      step();
      if (r.sends === 0 && r.issues === 0) break;
    }
  }
  for (;;) {
    if (!timeLeft()) return { counts, more: true };
    const n = await deleteExpired(db, c.expired, o.batch);
    counts.expired += n;
    step();
    if (n === 0) break;
  }

  // 7. Idempotency records past their retention, once their raw message and ledger are gone.
  for (;;) {
    if (!timeLeft()) return { counts, more: true };
    const n = await deleteInboundRecords(db, c.inbound, o.batch);
    counts.inbound += n;
    step();
    if (n < o.batch) break;
  }

  // 8. Messages nothing references: an edited approval once its post is done, bytes of a start answered 451,
  // messages of a deleted list. An edited approval is referenced only by its post's workflow, so nothing stored
  // after the oldest workflow that may still run is taken, nor anything younger than the raw retention. The
  // scan reads every message, so a complete one runs once a week (orphans wait at least the raw retention).
  if (c.raw) {
    const oldest = await oldestUnfinished(db);
    const bound = new Date(Math.min(c.raw.getTime(), c.storedBefore.getTime(), oldest?.getTime() ?? Infinity));
    const scan = await loadOrphanScan(db);
    const due = scan.cursor !== null || !scan.completedAt || c.now.getTime() - scan.completedAt.getTime() >= c.orphanScanEvery;
    while (due) {
      if (!timeLeft()) return { counts, more: true };
      const r = await deleteOrphans(db, scan.cursor, bound, small);
      counts.messages += r.deleted;
      step();
      if (r.scanned < small) {
        await saveOrphanScan(db, { cursor: null, completedAt: c.now });
        break;
      }
      scan.cursor = r.next;
      await saveOrphanScan(db, scan);
    }
  }

  // 9. A day's deletions would otherwise wait for autovacuum (which comes once a fifth of a table is dead), and
  // the next day's rows would grow the files meanwhile. Plain VACUUM takes no lock that mail waits for.
  if (o.vacuum !== false) {
    const touched: [string, number][] = [
      ['deliveries', counts.deliveries],
      ['posts', counts.posts],
      ['inbound', counts.finished + counts.rawReleased + counts.inbound],
      ['messages', counts.messages],
      ['bounce_events', counts.bounceEvents + counts.rawReleased],
      ['digest_sends', counts.digestSends],
      ['digest_issues', counts.digestIssues],
    ];
    for (const [table, n] of touched) {
      if (n === 0) continue;
      await db.query(`VACUUM (ANALYZE) ${table}`);
      step();
    }
  }
  return { counts, more: false };
}

/** Runs `fn` over items, `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

/** The lookup through a Temporal client: one describe per workflow, a query per list with a running digest. */
export function temporalLookup(client: Client, concurrency = 8): WorkflowLookup {
  return {
    async fates(ids) {
      const out = new Map<string, WorkflowFate>();
      await eachLimited(ids, concurrency, async (id) => {
        try {
          const d = await client.workflow.getHandle(id).describe();
          if (d.status.name === 'RUNNING') out.set(id, { kind: 'running' });
          else out.set(id, { kind: 'closed', at: d.closeTime ?? d.startTime });
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) out.set(id, { kind: 'gone' });
          // Anything else (Temporal unreachable): not known this time, asked again next run.
        }
      });
      return out;
    },
    async digestPending(list) {
      const handle = client.workflow.getHandle(digestWorkflowId(list));
      try {
        const d = await handle.describe();
        // A digest ends only with nothing pending.
        if (d.status.name !== 'RUNNING') return new Set();
        const status = await handle.query(digestStatusQuery);
        return new Set(status.pending.map((p) => p.workflowId));
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return new Set();
        return null;
      }
    },
  };
}

/** Temporal's retention of closed workflows in this namespace, in days (0 when it cannot be read). */
async function namespaceRetentionDays(client: Client, namespace: string): Promise<number> {
  try {
    const d = await client.workflowService.describeNamespace({ namespace });
    return Number(d.config?.workflowExecutionRetentionTtl?.seconds ?? 0) / 86_400;
  } catch {
    return 0;
  }
}

/** The same run as the activity, outside one (the bench and tests): settings from the site table. */
export async function pruneOnce(
  db: Db,
  lookup: WorkflowLookup,
  o: PruneOptions & { now?: Date; day?: number; namespaceRetentionDays: number; settings?: SiteSettings },
): Promise<PruneRunResult> {
  const settings = o.settings ?? (await loadSiteSettings(db));
  const retention = retentionOf(settings, o.namespaceRetentionDays);
  const cutoffs = cutoffsFor(retention, o.namespaceRetentionDays, o.now ?? new Date(), o.day);
  // One run at a time across workers (an attempt retried while the one before still runs, a second site
  // workflow): each batch is safe alongside another, but two runs would only contend for the same rows.
  const lock = await db.connect();
  try {
    const { rows } = await lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [PRUNE_LOCK]);
    if (!rows[0]?.ok) return { counts: zeroCounts(), more: false, intervalHours: settings.prune_interval_hours, retention };
    try {
      const { counts, more } = await prune(db, lookup, cutoffs, o);
      return { counts, more, intervalHours: settings.prune_interval_hours, retention };
    } finally {
      await lock.query('SELECT pg_advisory_unlock($1)', [PRUNE_LOCK]);
    }
  } finally {
    lock.release();
  }
}

const PRUNE_LOCK = 7451013;

export function createPruneActivities(deps: ActivityDeps) {
  return {
    /** One prune pass within `budgetSeconds`, heartbeating each batch; `more` when it ran out of time. */
    async pruneRun(input: { budgetSeconds: number }): Promise<PruneRunResult> {
      const ctx = Context.current();
      // At least the 30 days listflow sets on start (runtime/temporal.ts), if the namespace cannot be read.
      const nsDays = Math.max(await namespaceRetentionDays(ctx.client, ctx.info.namespace), 30);
      // Heartbeats on a timer too: one statement (a VACUUM of a large ledger) may outlast the heartbeat timeout.
      const result = await withHeartbeat(() =>
        pruneOnce(deps.db, temporalLookup(ctx.client), {
          batch: 5000,
          budgetMs: input.budgetSeconds * 1000,
          progress: (counts) => ctx.heartbeat(counts),
          namespaceRetentionDays: nsDays,
        }),
      );
      ctx.log.info('prune run', { ...result.counts, more: result.more });
      return result;
    },
  };
}
