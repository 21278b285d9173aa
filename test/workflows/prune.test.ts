// The prune workflow on the time-skipping server: it runs at once and then on its durable timer, goes on while
// a run has work left, runs when told to, and continues as new; and the pruner, asking the real Temporal which
// workflows finished, takes a delivered post's ledger and message as received but keeps a held post's message
// and the archive's copy.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import type { CoreActivities } from '../../activities/index.js';
import { pruneOnce, temporalLookup } from '../../activities/prune.js';
import { workflowIdFor } from '../../mail/ids.js';
import { defaultSiteSettings } from '../../mail/site-settings.js';
import { markStarted, putMessage, recordInbound } from '../../store/messages.js';
import { workflowBundle } from '../../workers/index.js';
import type { InboundMail } from '../../workflows/messages.js';
import type { postWorkflow } from '../../workflows/post.js';
import type { pruneWorkflow } from '../../workflows/prune.js';
import { pruneNowSignal, pruneStatusQuery, zeroCounts, type PruneRunResult, type PruneStatus } from '../../workflows/prune-contract.js';
import { inState, watchPost } from '../helpers/post-status.js';
import { createList, subscribe } from '../helpers/stack.js';
import { uniqueName } from '../helpers/temporal.js';
import { useTimeSkippingStack } from '../helpers/time-skipping.js';

const DAY = 86_400_000;

async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > end) assert.fail(`${what}: still ${JSON.stringify(v)} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the prune workflow, on the time-skipping server', () => {
  const stack = useTimeSkippingStack();

  it('runs at once, again after prune_interval_hours on its timer, at once on pruneNow, and continues as new', async () => {
    const taskQueue = uniqueName('prune');
    let calls = 0;
    const fake: Pick<CoreActivities, 'pruneRun'> = {
      async pruneRun(): Promise<PruneRunResult> {
        calls += 1;
        // The first call runs out of its budget: the run calls again at once.
        return { counts: { ...zeroCounts(), deliveries: 10 }, more: calls === 1, intervalHours: 6, retention: { rawDays: 14, ledgerDays: 30, inboundDays: 30, bounceEventsDays: 90 } };
      },
    };
    const worker = await Worker.create({ connection: stack.env.nativeConnection, namespace: stack.env.namespace ?? 'default', taskQueue, workflowBundle: await workflowBundle(), activities: fake });
    await worker.runUntil(async () => {
      const handle = await stack.env.client.workflow.start<typeof pruneWorkflow>('pruneWorkflow', {
        workflowId: `${uniqueName('prune')}/site`,
        taskQueue,
        args: [{ runsPerExecution: 2 }],
      });
      const status = () => handle.query(pruneStatusQuery);
      const first = await until('the first run', status, (s: PruneStatus) => s.runs === 1 && s.state === 'waiting');
      assert.equal(calls, 2, 'a run whose budget ran out calls again at once');
      assert.equal(first.last?.calls, 2);
      assert.equal(first.last?.counts.deliveries, 20);
      assert.ok(first.nextRunAt && Date.parse(first.nextRunAt) - Date.parse(first.last?.endedAt ?? '') >= 6 * 3_600_000 - 1000, 'the next run is prune_interval_hours away');

      // Nothing happens before the timer fires.
      await stack.env.sleep('5 hours');
      assert.equal((await status()).runs, 1);
      await stack.env.sleep('1 hour');
      await until('the second run, on the timer', status, (s) => s.runs === 2 && s.state === 'waiting');
      assert.equal(calls, 3);

      // After runsPerExecution runs and one more interval, the workflow continues as new and runs at once.
      await stack.env.sleep('6 hours');
      const third = await until('the third run, after continue-as-new', status, (s) => s.runs === 3 && s.state === 'waiting');
      assert.equal(third.runsThisExecution, 1, 'a new execution');
      assert.equal(third.totals.deliveries, 40, 'the totals are carried across continue-as-new');
      const described = await handle.describe();
      assert.notEqual(described.runId, handle.firstExecutionRunId, 'continued as new');
      assert.equal(described.status.name, 'RUNNING');

      await stack.env.client.workflow.getHandle(handle.workflowId).signal(pruneNowSignal);
      await until('a run on pruneNow', status, (s) => s.runs === 4);
      assert.equal(calls, 5);
      await stack.env.client.workflow.getHandle(handle.workflowId).terminate('test over');
    });
  });

  /** A post recorded as ingress records it (inbound row, started), with the workflow started. */
  async function ingest(list: string, from: string, subject: string) {
    const raw = Buffer.from(
      [`From: ${from}`, `To: ${list}`, `Subject: ${subject}`, `Message-ID: <${randomBytes(8).toString('hex')}@elsewhere.example>`, `Date: ${new Date().toUTCString()}`, '', 'Hello.', ''].join('\r\n'),
    );
    const db = stack.database.db;
    const sha256 = await putMessage(db, raw);
    const workflowId = workflowIdFor('post', list, sha256);
    await recordInbound(db, [{ workflowId, listAddress: list, kind: 'post', sha256, envelopeFrom: from, rcptTo: list }]);
    const mail: InboundMail = { list, sha256, envelopeFrom: from, rcptTo: list, receivedAt: new Date().toISOString() };
    const handle = await stack.env.client.workflow.start<typeof postWorkflow>('postWorkflow', {
      workflowId,
      taskQueue: stack.taskQueue,
      args: [mail, { deliveryTaskQueue: stack.deliveryTaskQueue, parallelBatches: 2 }],
    });
    await markStarted(db, [workflowId]);
    return { workflowId, sha256, handle };
  }

  it("takes a delivered post's ledger and message as received, keeps the archive's copy and a held post's message", async () => {
    const tag = uniqueName('keep');
    const list = await createList(stack.database.db);
    await subscribe(stack.database.db, list, [`alice-${tag}@members.example`, `bob-${tag}@members.example`]);
    const delivered = await ingest(list, `alice-${tag}@members.example`, 'delivered and archived');
    const held = await ingest(list, `stranger-${tag}@elsewhere.example`, 'held for a moderator');
    await watchPost(stack.env.client, delivered.workflowId, inState('delivered'), 'delivered');
    await watchPost(stack.env.client, held.workflowId, inState('held'), 'held');
    await until('the delivered post closed', () => delivered.handle.describe().then((d) => d.status.name), (s) => s === 'COMPLETED');
    const q = (sql: string, params: unknown[]) => stack.database.db.query(sql, params);
    const decorated = (await q('SELECT decorated_sha256 FROM posts WHERE workflow_id = $1', [delivered.workflowId])).rows[0]?.decorated_sha256 as string;
    assert.ok(decorated);
    assert.equal((await q('SELECT 1 FROM archive WHERE sha256 = $1', [decorated])).rowCount, 1);

    // Sixty days on (as the pruner sees it): the held post still waits — its workflow runs.
    const result = await pruneOnce(stack.database.db, temporalLookup(stack.env.client), {
      batch: 100,
      budgetMs: 60_000,
      progress: () => {},
      namespaceRetentionDays: 30,
      now: new Date(Date.now() + 60 * DAY),
      settings: defaultSiteSettings(),
    });
    assert.equal(result.more, false);
    const has = async (sql: string, v: string) => ((await q(sql, [v])).rowCount ?? 0) > 0;
    assert.equal(await has('SELECT 1 FROM deliveries WHERE workflow_id = $1', delivered.workflowId), false, 'the ledger went');
    assert.equal(await has('SELECT 1 FROM posts WHERE workflow_id = $1', delivered.workflowId), false, 'the post row went');
    assert.equal(await has('SELECT 1 FROM messages WHERE sha256 = $1', delivered.sha256), false, 'the message as received went');
    assert.equal(await has('SELECT 1 FROM inbound WHERE workflow_id = $1', delivered.workflowId), false, 'the idempotency record went');
    assert.equal(await has('SELECT 1 FROM messages WHERE sha256 = $1', decorated), true, "the archive's copy stays");
    assert.equal(await has('SELECT 1 FROM messages WHERE sha256 = $1', held.sha256), true, "the held post's message stays");
    assert.equal(await has('SELECT 1 FROM inbound WHERE workflow_id = $1 AND finished_at IS NULL', held.workflowId), true);

    // The real activity, through the workflow on the core worker: one run, nothing due at today's date.
    const prune = await stack.env.client.workflow.start<typeof pruneWorkflow>('pruneWorkflow', { workflowId: `${uniqueName('prune')}/site`, taskQueue: stack.taskQueue, args: [{}] });
    const s = await until('a run of the real activity', () => prune.query(pruneStatusQuery), (st) => st.runs === 1);
    assert.equal(s.last?.retention.inboundDays, 30);
    assert.equal(s.last?.counts.posts, 0);
    await prune.terminate('test over');
    assert.equal(await has('SELECT 1 FROM messages WHERE sha256 = $1', held.sha256), true);
  });
});
