// Records a real post's history (held → approved by signal → delivered) as the replay test's fixture.
// Run after a build: node dist/test/helpers/record-history.js — it starts its own dev server unless
// LISTFLOW_TEST_TEMPORAL_ADDRESS names one, and needs PostgreSQL as the tests do.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { prepareNamespace, startDevServer, type EmbeddedTemporal } from '../../runtime/temporal.js';
import { approveSignal } from '../../workflows/messages.js';
import { HISTORY_FIXTURE } from './history-fixture.js';
import { startSmtpRecorder } from './smtp-recorder.js';
import { createList, post, queuedId, startStack, subscribe, waitForState } from './stack.js';
import { freePort } from '../../runtime/ports.js';



async function main(): Promise<void> {
  const log = (line: string) => console.log(line);
  let dev: EmbeddedTemporal | undefined;
  let dataDir: string | undefined;
  if (!process.env.LISTFLOW_TEST_TEMPORAL_ADDRESS) {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'listflow-record-'));
    dev = await startDevServer(
      { dataDir, namespace: 'default', temporalUiPort: await freePort(), temporalDevListen: { host: '127.0.0.1', port: await freePort() } },
      log,
    );
    const connection = await Connection.connect({ address: dev.address });
    await prepareNamespace(connection, 'default');
    await connection.close();
    process.env.LISTFLOW_TEST_TEMPORAL_ADDRESS = dev.address;
  }
  const recorder = await startSmtpRecorder();
  const stack = await startStack({ smarthost: recorder.url });
  try {
    const list = await createList(stack.db, [], 'replay');
    await subscribe(stack.db, list, ['ann@members.example', 'bo@members.example']);
    await subscribe(stack.db, list, ['owner@owners.example'], 'owner');
    const { response } = await post(stack.smtpPort, { from: 'outsider@elsewhere.example', to: list, subject: 'a question from outside' });
    const id = queuedId(response);
    await waitForState(stack.client, id, ['held']);
    const handle = stack.client.workflow.getHandle(id);
    await handle.signal(approveSignal, { by: 'owner@owners.example' });
    const result = await handle.result();
    if (result.state !== 'delivered') throw new Error(`the post ended ${result.state}, not delivered`);
    const history = await handle.fetchHistory();
    mkdirSync(path.dirname(HISTORY_FIXTURE), { recursive: true });
    writeFileSync(HISTORY_FIXTURE, `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 2)}\n`);
    log(`wrote ${history.events?.length ?? 0} events of ${id} to ${HISTORY_FIXTURE}`);
  } finally {
    await stack.stop();
    await recorder.close();
    await dev?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  },
);
