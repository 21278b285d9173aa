// What a benchmark run stands on: a fresh PostgreSQL database, a Temporal dev server, and listflow in a child process.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { prepareNamespace, startDevServer } from '../runtime/temporal.js';
import { freePort } from '../runtime/ports.js';
import { createScratchDatabase, type ScratchDatabase } from '../store/scratch.js';
import { track } from './children.js';

export { freePort };

export const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export type BenchDatabase = ScratchDatabase;

/** A fresh database listflow_bench_<random> on the server BENCH_DATABASE_URL names, migrated; drop() removes it. */
export function createBenchDatabase(): Promise<BenchDatabase> {
  return createScratchDatabase(ADMIN_URL, 'listflow_bench', 4);
}

export interface BenchTemporal {
  address: string;
  client: Client;
  stop(): Promise<void>;
}

/** A Temporal dev server on free loopback ports with its SQLite file in a temp dir, and a client on it. */
export async function startTemporal(log: (line: string) => void): Promise<BenchTemporal> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'listflow-bench-temporal-'));
  const dev = await startDevServer(
    { dataDir, namespace: 'default', temporalUiPort: await freePort(), temporalDevListen: { host: '127.0.0.1', port: await freePort() } },
    log,
  );
  try {
    const connection = await Connection.connect({ address: dev.address });
    await prepareNamespace(connection, 'default');
    return {
      address: dev.address,
      client: new Client({ connection, namespace: 'default' }),
      async stop() {
        await connection.close();
        await dev.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await dev.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

/** Reads a field such as VmRSS or VmHWM (in KiB) from /proc/<pid>/status; 0 when it cannot. */
export function procStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export interface Host {
  pid: number;
  smtpPort: number;
  /** Peak resident memory of the host process since it started (VmHWM), in MiB. */
  peakRssMb(): number;
  stop(): Promise<void>;
}

export interface HostOptions {
  databaseUrl: string;
  temporalAddress: string;
  smarthost: string;
  /** LISTFLOW_ROLES for the host; ingress, core and delivery by default. */
  roles?: string;
  /** Further LISTFLOW_* settings, e.g. LISTFLOW_SMTP_CONNECTIONS. */
  env?: Record<string, string>;
}

const HOST_JS = fileURLToPath(new URL('./host.js', import.meta.url));

/** Starts ingress, core and delivery workers in a child process with their own task queues; resolves when it listens. */
export async function startHost(o: HostOptions): Promise<Host> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'listflow-bench-host-'));
  const suffix = randomBytes(4).toString('hex');
  // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of the host there when it stops (open it in Chrome DevTools).
  const profileDir = process.env.BENCH_CPU_PROF;
  const child = track(fork(HOST_JS, [], {
    execArgv: profileDir ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(profileDir)] : [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: {
      ...process.env,
      LISTFLOW_DATA_DIR: dataDir,
      DATABASE_URL: o.databaseUrl,
      TEMPORAL_ADDRESS: o.temporalAddress,
      LISTFLOW_SMARTHOST: o.smarthost,
      LISTFLOW_SMTP_LISTEN: '127.0.0.1:0',
      LISTFLOW_ROLES: o.roles ?? 'ingress,core,delivery',
      LISTFLOW_TASK_QUEUE: `bench-core-${suffix}`,
      LISTFLOW_DELIVERY_TASK_QUEUE: `bench-delivery-${suffix}`,
      LISTFLOW_HOSTNAME: 'listflow.bench',
      ...o.env,
    },
  }));
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the benchmark host process');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const smtp = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the benchmark host did not start within 120 s')), 120_000);
      child.once('message', (m: { ready?: boolean; smtp?: string }) => {
        clearTimeout(timer);
        if (m.ready && m.smtp) resolve(m.smtp);
        else reject(new Error('the benchmark host started without an SMTP ingress'));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the benchmark host exited with code ${code} before it was ready`));
      });
    });
    return {
      pid,
      smtpPort: Number(smtp.slice(smtp.lastIndexOf(':') + 1)),
      peakRssMb: () => procStatusKb(pid, 'VmHWM') / 1024,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
