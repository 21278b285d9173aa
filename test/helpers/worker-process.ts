// A listflow worker host in a process of its own (core + delivery workers), so a test can SIGKILL it mid-fan-out.
// Configured by environment: LISTFLOW_TEST_TEMPORAL_ADDRESS, DATABASE_URL, LISTFLOW_SMARTHOST,
// LISTFLOW_TEST_TASK_QUEUE, LISTFLOW_TEST_DELIVERY_TASK_QUEUE, LISTFLOW_TEST_SMTP_CONNECTIONS. Prints "ready" once polling.
import { NativeConnection } from '@temporalio/worker';
import { createSmtpTransport } from '../../activities/smtp.js';
import { createPool } from '../../store/db.js';
import { createCoreWorkers, createDeliveryWorker } from '../../workers/index.js';
import { devServerAddress, quietRuntime } from './temporal.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

async function main(): Promise<void> {
  quietRuntime();
  const smtpConnections = Number(required('LISTFLOW_TEST_SMTP_CONNECTIONS'));
  const db = createPool(required('DATABASE_URL'), 10);
  const transport = createSmtpTransport(required('LISTFLOW_SMARTHOST'), smtpConnections, 'listflow.test');
  const connection = await NativeConnection.connect({ address: devServerAddress() });
  try {
    const options = {
      connection,
      namespace: 'default',
      taskQueue: required('LISTFLOW_TEST_TASK_QUEUE'),
      deliveryTaskQueue: required('LISTFLOW_TEST_DELIVERY_TASK_QUEUE'),
      deps: { db, transport, publicUrl: 'http://127.0.0.1:8025', hostname: 'listflow.test' },
      smtpConnections,
      shutdownGraceTime: '1s',
    };
    const workers = [...(await createCoreWorkers(options)), await createDeliveryWorker(options)];
    process.once('SIGTERM', () => workers.forEach((w) => w.shutdown()));
    const runs = Promise.all(workers.map((w) => w.run()));
    process.stdout.write('ready\n');
    await runs;
  } finally {
    transport.close();
    await connection.close();
    await db.end();
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  },
);
