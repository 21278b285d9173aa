// Temporal workers by role: core runs the workflows and database activities, delivery runs the SMTP activities.
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createCoreActivities, createOutboundActivities } from '../activities/index.js';
import type { ActivityDeps } from '../activities/deps.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.js', import.meta.url));

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Bundles the workflow code once per process (the bundle refuses Node built-ins and I/O libraries). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
  return bundle;
}

const quietLogger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn(message: string) {
    console.warn(message);
  },
  error(message: string) {
    console.error(message);
  },
};

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

export async function createCoreWorker(o: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: o.taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createCoreActivities(o.deps),
    shutdownGraceTime: o.shutdownGraceTime ?? '30s',
  });
}

export async function createDeliveryWorker(o: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: o.deliveryTaskQueue,
    activities: createOutboundActivities(o.deps, { connections: o.smtpConnections }),
    maxConcurrentActivityTaskExecutions: 64,
    shutdownGraceTime: o.shutdownGraceTime ?? '30s',
  });
}
