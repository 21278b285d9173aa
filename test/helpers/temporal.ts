// The shared Temporal dev server test/run.ts started, and names that keep test files apart.
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { LogLevel, LogMetadata, Logger } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';

let runtimeInstalled = false;

/**
 * The test runner ends a file that overruns its timeout with SIGTERM. By default the Temporal runtime turns
 * that signal into a graceful worker shutdown, which a stuck activity can hold up for ever; in tests it
 * must end the process.
 */
const shutdownSignals: NodeJS.Signals[] = [];

/** Workers in tests log warnings only; the SDK's INFO lines would drown the test output. */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals });
}

/**
 * quietRuntime, and also drops the records `drop` picks: failures a test provokes on purpose (an activity
 * retried for a whole simulated day logs a warning per attempt). Must come before anything else installs the runtime.
 */
export function quietRuntimeDropping(drop: (level: LogLevel, message: string, meta?: LogMetadata) => boolean): void {
  if (runtimeInstalled) throw new Error('the Temporal runtime is already installed: call quietRuntimeDropping first');
  runtimeInstalled = true;
  const base = new DefaultLogger('WARN');
  const logger: Logger = {
    log: (level, message, meta) => {
      if (!drop(level, message, meta)) base.log(level, message, meta);
    },
    trace: (message, meta) => logger.log('TRACE', message, meta),
    debug: (message, meta) => logger.log('DEBUG', message, meta),
    info: (message, meta) => logger.log('INFO', message, meta),
    warn: (message, meta) => logger.log('WARN', message, meta),
    error: (message, meta) => logger.log('ERROR', message, meta),
  };
  Runtime.install({ logger, shutdownSignals });
}

export function devServerAddress(): string {
  const address = process.env.LISTFLOW_TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('LISTFLOW_TEST_TEMPORAL_ADDRESS is not set: run the tests with npm test');
  return address;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export async function connectDevServer(): Promise<{ connection: Connection; client: Client; native: NativeConnection; close(): Promise<void> }> {
  quietRuntime();
  const address = devServerAddress();
  const connection = await Connection.connect({ address });
  const native = await NativeConnection.connect({ address });
  return {
    connection,
    client: new Client({ connection, namespace: 'default' }),
    native,
    async close() {
      await connection.close();
      await native.close();
    },
  };
}

/** Ends the workflows a test file left waiting (requests awaiting confirmation wait for days) on the shared dev server. */
export async function terminateAll(ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  const connection = await Connection.connect({ address: devServerAddress() });
  try {
    const client = new Client({ connection, namespace: 'default' });
    await Promise.allSettled(ids.map((id) => client.workflow.getHandle(id).terminate('test finished')));
  } finally {
    await connection.close();
  }
}
