// The shared Temporal dev server test/run.ts started, and names that keep test files apart.
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';

let runtimeInstalled = false;

/** Workers in tests log warnings only; the SDK's INFO lines would drown the test output. */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
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
