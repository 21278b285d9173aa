// What the history recorders (record-*.ts) share: a dev server of their own unless LISTFLOW_TEST_TEMPORAL_ADDRESS
// names one, a test stack with a recording SMTP server, and writing a finished workflow's history as a fixture.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { freePort } from '../../runtime/ports.js';
import { prepareNamespace, startDevServer, type EmbeddedTemporal } from '../../runtime/temporal.js';
import { startSmtpRecorder, type SmtpRecorder } from './smtp-recorder.js';
import { startStack, type Stack } from './stack.js';

/** Runs `record` against a fresh stack and tears everything down; exits the process 0 or 1 (a script's main). */
export function runRecorder(record: (stack: Stack, recorder: SmtpRecorder) => Promise<void>): void {
  const main = async () => {
    let dev: EmbeddedTemporal | undefined;
    let dataDir: string | undefined;
    if (!process.env.LISTFLOW_TEST_TEMPORAL_ADDRESS) {
      dataDir = mkdtempSync(path.join(os.tmpdir(), 'listflow-record-'));
      dev = await startDevServer(
        { dataDir, namespace: 'default', temporalUiPort: await freePort(), temporalDevListen: { host: '127.0.0.1', port: await freePort() } },
        (line) => console.log(line),
      );
      const connection = await Connection.connect({ address: dev.address });
      await prepareNamespace(connection, 'default');
      await connection.close();
      process.env.LISTFLOW_TEST_TEMPORAL_ADDRESS = dev.address;
    }
    const recorder = await startSmtpRecorder();
    const stack = await startStack({ smarthost: recorder.url });
    try {
      await record(stack, recorder);
    } finally {
      await stack.stop();
      await recorder.close();
      await dev?.stop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }
  };
  main().then(
    () => process.exit(0),
    (err: Error) => {
      console.error(err.stack ?? err.message);
      process.exit(1);
    },
  );
}

/** Writes a finished workflow's history as pretty JSON, the form the replay tests read. */
export async function writeHistory(handle: WorkflowHandle, out: string): Promise<void> {
  const history = await handle.fetchHistory();
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 2)}\n`);
  console.log(`wrote ${history.events?.length ?? 0} events of ${handle.workflowId} to ${out}`);
}
