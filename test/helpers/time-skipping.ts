// The time-skipping test server for days-long waits, with listflow's search attributes registered on it.
import proto from '@temporalio/proto';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import type { ConnectionOptions, WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { createSmtpTransport, type SmtpTransport } from '../../activities/smtp.js';
import { workflowIdFor } from '../../mail/ids.js';
import { putMessage } from '../../store/messages.js';
import { createCoreWorkers, createDeliveryWorker } from '../../workers/index.js';
import type { InboundMail } from '../../workflows/messages.js';
import type { postWorkflow } from '../../workflows/post.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { startSmtpRecorder, type SmtpRecorder } from './smtp-recorder.js';
import { SEARCH_ATTRIBUTES } from '../../workflows/messages.js';
import { quietRuntime, quietRuntimeDropping, uniqueName } from './temporal.js';

/**
 * Starts the binary test/run.ts resolved (LISTFLOW_TEST_TIME_SKIPPING_SERVER), or the SDK's cached download
 * when none was found. Workflows upsert listflow's search attributes, which this server refuses until they
 * are added (it implements AddSearchAttributes, not ListSearchAttributes).
 */
export async function startTimeSkipping(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  const path = process.env.LISTFLOW_TEST_TIME_SKIPPING_SERVER;
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    ...(path ? { server: { executable: { type: 'existing-path', path } } } : {}),
    plugins: [QUIET_KEEPALIVE],
  });
  try {
    const KEYWORD = proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
    await env.connection.operatorService.addSearchAttributes({
      namespace: env.namespace ?? 'default',
      searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTES.map((k) => [k.name, KEYWORD])),
    });
  } catch (err) {
    await env.teardown();
    throw err;
  }
  return env;
}

/**
 * The test server (grpc-java) allows a client ping at most every 5 minutes, and none without a call in flight;
 * the client's default (every 30 s, also when idle) made it answer GOAWAY "too many pings" in long test files,
 * seen just before a file hung. This keeps the client's pings within what the server allows.
 */
const QUIET_KEEPALIVE = {
  name: 'listflow-test-keepalive',
  configureConnection: (options: ConnectionOptions): ConnectionOptions => ({
    ...options,
    channelArgs: { ...options.channelArgs, 'grpc.keepalive_permit_without_calls': 0, 'grpc.keepalive_time_ms': 300_000 },
  }),
};

/**
 * A workflow's result, or after `ms` a failure saying where it stands (state, pending activities), so a
 * stuck run fails with a diagnosis instead of holding its test file until the runner's timeout.
 */
export async function resultWithin<T>(handle: WorkflowHandle, ms = 60_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const overrun = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void (async () => {
        let where = '';
        try {
          const d = await handle.describe();
          const pending = d.raw.pendingActivities?.map((a) => `${a.activityType?.name} attempt ${a.attempt} (${a.lastFailure?.message ?? 'no failure'})`) ?? [];
          where = `status ${d.status.name}; pending activities: ${pending.join(', ') || 'none'}`;
        } catch (err) {
          where = `describe failed: ${(err as Error).message}`;
        }
        reject(new Error(`${handle.workflowId} gave no result within ${ms} ms: ${where}`));
      })();
    }, ms);
  });
  try {
    return (await Promise.race([handle.result(), overrun])) as T;
  } finally {
    clearTimeout(timer);
  }
}

export interface TimeSkippingStack {
  env: TestWorkflowEnvironment;
  database: TestDatabase;
  recorder: SmtpRecorder;
  taskQueue: string;
  deliveryTaskQueue: string;
  /** Stores a post from `from` and starts its workflow directly, as ingress would. */
  startPost(list: string, from: string, subject: string): Promise<{ workflowId: string; handle: WorkflowHandle<typeof postWorkflow> }>;
}

/**
 * For a describe(): the time-skipping server, a database, a recording smarthost and both workers, started
 * before its tests and stopped after them. `quiet` installs the runtime first, dropping the log records it picks.
 */
export function useTimeSkippingStack(quiet?: Parameters<typeof quietRuntimeDropping>[0]): TimeSkippingStack {
  let started: Omit<TimeSkippingStack, 'startPost' | 'taskQueue' | 'deliveryTaskQueue'> | undefined;
  let workers: Worker[] = [];
  let runs: Promise<void>[] = [];
  let transport: SmtpTransport | undefined;
  const taskQueue = uniqueName('core');
  const deliveryTaskQueue = uniqueName('delivery');
  const get = () => started ?? assert.fail('the time-skipping stack is not started yet (use it inside tests)');

  before(async () => {
    if (quiet) quietRuntimeDropping(quiet);
    const env = await startTimeSkipping();
    const database = await createTestDatabase();
    const recorder = await startSmtpRecorder();
    transport = createSmtpTransport(recorder.url, 2, 'listflow.test');
    const deps = { db: database.db, transport, publicUrl: 'http://127.0.0.1:8025', hostname: 'listflow.test' };
    const options = { connection: env.nativeConnection, namespace: env.namespace ?? 'default', taskQueue, deliveryTaskQueue, deps, smtpConnections: 2, shutdownGraceTime: '1s' };
    workers = [...(await createCoreWorkers(options)), await createDeliveryWorker(options)];
    runs = workers.map((w) => w.run());
    started = { env, database, recorder };
  });

  after(async () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    // A worker whose activity is stuck must not hold the file open; the server's teardown ends the rest.
    await Promise.race([Promise.all(runs), new Promise((r) => setTimeout(r, 15_000).unref())]);
    transport?.close();
    if (!started) return;
    await started.recorder.close();
    await started.database.drop();
    await started.env.teardown();
  });

  return {
    get env() {
      return get().env;
    },
    get database() {
      return get().database;
    },
    get recorder() {
      return get().recorder;
    },
    taskQueue,
    deliveryTaskQueue,
    async startPost(list, from, subject) {
      const { env, database } = get();
      const raw = Buffer.from(
        [
          `From: ${from}`,
          `To: ${list}`,
          `Subject: ${subject}`,
          `Message-ID: <${randomBytes(8).toString('hex')}@elsewhere.example>`,
          `Date: ${new Date().toUTCString()}`,
          '',
          'A question from outside the list.',
          '',
        ].join('\r\n'),
      );
      const sha256 = await putMessage(database.db, raw);
      const workflowId = workflowIdFor('post', list, sha256);
      const mail: InboundMail = { list, sha256, envelopeFrom: from, rcptTo: list, receivedAt: new Date().toISOString() };
      const handle = await env.client.workflow.start<typeof postWorkflow>('postWorkflow', { workflowId, taskQueue, args: [mail, { deliveryTaskQueue, parallelBatches: 2 }] });
      return { workflowId, handle };
    },
  };
}
