// Temporal workers by role: core runs the workflows and database activities, delivery runs the SMTP activities.
import { fileURLToPath } from 'node:url';
import { Worker as Thread } from 'node:worker_threads';
import { NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createCoreActivities, createOutboundActivities } from '../activities/index.js';
import type { ActivityDeps } from '../activities/deps.js';
import { bounceTaskQueueOf } from '../workflows/messages.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.js', import.meta.url));

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

const BUNDLE_THREAD = new URL('./bundle-thread.js', import.meta.url);

/**
 * Bundles the workflow code once per process (the bundle refuses Node built-ins and I/O libraries).
 * Webpack runs in a worker thread of its own: in the isolate that runs it, V8's fast paths for arrays
 * stay disabled afterwards (Array.prototype.shift on 500 elements went from 0.02 ms to 16 ms, which made
 * nodemailer spend 15 ms queueing each 500-recipient envelope), and its memory goes with the thread.
 */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= new Promise<WorkflowBundleWithSourceMap>((resolve, reject) => {
    const thread = new Thread(BUNDLE_THREAD, { workerData: { workflowsPath: WORKFLOWS_PATH } });
    let done = false;
    thread.once('message', (b: WorkflowBundleWithSourceMap) => {
      done = true;
      resolve(b);
      void thread.terminate();
    });
    thread.once('error', (err) => {
      done = true;
      reject(err);
    });
    thread.once('exit', (code) => {
      if (!done) reject(new Error(`bundling the workflow code stopped (exit code ${code}) without a bundle`));
    });
  });
  return bundle;
}

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deliveryTaskQueue: string;
  deps: ActivityDeps;
  smtpConnections: number;
  /** How long in-flight activities (an SMTP batch) may finish after SIGTERM. */
  shutdownGraceTime?: string;
}

/** Workflows the core worker keeps in memory between tasks (posts, requests, digests, subscriptions). */
const CORE_CACHED_WORKFLOWS = 500;

function queues(o: WorkerOptions) {
  return { core: o.taskQueue, delivery: o.deliveryTaskQueue, bounces: bounceTaskQueueOf(o.taskQueue) };
}

/**
 * The core role: one worker for posts, requests and the rest, and one for bounces and bouncers on a queue of
 * their own with few slots and a bounded cache. A storm of 10,000 bounces then waits in its own queue while
 * posts keep theirs, and 10,000 long-lived bouncers do not all sit in memory.
 */
export async function createCoreWorkers(o: WorkerOptions): Promise<Worker[]> {
  const bundle = await workflowBundle();
  const activities = createCoreActivities({ ...o.deps, taskQueues: queues(o) });
  const common = { connection: o.connection, namespace: o.namespace, workflowBundle: bundle, activities, shutdownGraceTime: o.shutdownGraceTime ?? '30s' };
  return [
    // Posts finish in two workflow tasks; a burst of them must not keep thousands cached (the SDK's default grows
    // with the heap limit). A held post evicted here replays its short history when a moderator decides.
    await Worker.create({ ...common, taskQueue: o.taskQueue, maxCachedWorkflows: CORE_CACHED_WORKFLOWS }),
    await Worker.create({
      ...common,
      taskQueue: bounceTaskQueueOf(o.taskQueue),
      maxConcurrentWorkflowTaskExecutions: 4,
      maxConcurrentActivityTaskExecutions: 8,
      maxConcurrentLocalActivityExecutions: 8,
      maxCachedWorkflows: 1000,
    }),
  ];
}

export async function createDeliveryWorker(o: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: o.deliveryTaskQueue,
    activities: createOutboundActivities({ ...o.deps, taskQueues: queues(o) }, { connections: o.smtpConnections }),
    maxConcurrentActivityTaskExecutions: 64,
    shutdownGraceTime: o.shutdownGraceTime ?? '30s',
  });
}
