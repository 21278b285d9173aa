// Bundles the workflow code in a worker thread: webpack leaves V8's fast array paths disabled in the isolate it runs in.
import { parentPort, workerData } from 'node:worker_threads';
import { bundleWorkflowCode } from '@temporalio/worker';

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

const { workflowsPath } = workerData as { workflowsPath: string };
const bundle = await bundleWorkflowCode({ workflowsPath, logger: quietLogger });
parentPort?.postMessage({ code: bundle.code, sourceMap: bundle.sourceMap });
