// Starts test/helpers/worker-process.ts as a child process and kills it the hard way, as a crash would.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { devServerAddress } from './temporal.js';

const SCRIPT = fileURLToPath(new URL('./worker-process.js', import.meta.url));

export interface ChildWorkers {
  pid: number;
  /** SIGKILL: no shutdown, no grace time; resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM and wait for a clean exit. */
  stop(): Promise<void>;
}

export interface ChildWorkerOptions {
  databaseUrl: string;
  smarthost: string;
  taskQueue: string;
  deliveryTaskQueue: string;
  smtpConnections: number;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startChildWorkers(o: ChildWorkerOptions, timeoutMs = 60_000): Promise<ChildWorkers> {
  const child = spawn(process.execPath, [SCRIPT], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      LISTFLOW_TEST_TEMPORAL_ADDRESS: devServerAddress(),
      DATABASE_URL: o.databaseUrl,
      LISTFLOW_SMARTHOST: o.smarthost,
      LISTFLOW_TEST_TASK_QUEUE: o.taskQueue,
      LISTFLOW_TEST_DELIVERY_TASK_QUEUE: o.deliveryTaskQueue,
      LISTFLOW_TEST_SMTP_CONNECTIONS: String(o.smtpConnections),
    },
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the worker process did not get ready within ${timeoutMs} ms`));
    }, timeoutMs);
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the worker process exited before it was ready (code ${code}, signal ${signal})`));
    });
  });
  // Keep draining stdout so the child never blocks on a full pipe.
  child.stdout?.resume();
  return {
    pid: child.pid as number,
    async kill() {
      child.kill('SIGKILL');
      await exited(child);
    },
    async stop() {
      child.kill('SIGTERM');
      await exited(child);
    },
  };
}
