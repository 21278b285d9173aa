// Records a bounce workflow's history as the replay test's fixture (test/fixtures/histories/bounce-recorded.json).
// It was made with the bounce workflow as it was before bounce processing (a bounce only recorded), so the replay
// test proves such histories still replay. Run after a build: node dist/test/helpers/record-bounce-history.js
// (it starts its own dev server unless LISTFLOW_TEST_TEMPORAL_ADDRESS names one; needs PostgreSQL as the tests do).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { freePort } from '../../runtime/ports.js';
import { prepareNamespace, startDevServer, type EmbeddedTemporal } from '../../runtime/temporal.js';
import { sendBounce } from './bounces.js';
import { startSmtpRecorder } from './smtp-recorder.js';
import { createList, queuedId, startStack, subscribe } from './stack.js';

export const BOUNCE_HISTORY_FIXTURE = fileURLToPath(new URL('../../../test/fixtures/histories/bounce-recorded.json', import.meta.url));

async function main(): Promise<void> {
  let dev: EmbeddedTemporal | undefined;
  let dataDir: string | undefined;
  if (!process.env.LISTFLOW_TEST_TEMPORAL_ADDRESS) {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'listflow-record-'));
    dev = await startDevServer({ dataDir, namespace: 'default', temporalUiPort: await freePort(), temporalDevListen: { host: '127.0.0.1', port: await freePort() } }, console.log);
    const connection = await Connection.connect({ address: dev.address });
    await prepareNamespace(connection, 'default');
    await connection.close();
    process.env.LISTFLOW_TEST_TEMPORAL_ADDRESS = dev.address;
  }
  const recorder = await startSmtpRecorder();
  const stack = await startStack({ smarthost: recorder.url });
  try {
    const list = await createList(stack.db, [], 'replay');
    await subscribe(stack.db, list, ['gone@members.example']);
    const handle = stack.client.workflow.getHandle(queuedId(await sendBounce(stack.smtpPort, 'dsn-user-unknown.eml', { list, member: 'gone@members.example' })));
    await handle.result();
    const history = await handle.fetchHistory();
    mkdirSync(path.dirname(BOUNCE_HISTORY_FIXTURE), { recursive: true });
    writeFileSync(BOUNCE_HISTORY_FIXTURE, `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 2)}\n`);
    console.log(`wrote ${history.events?.length ?? 0} events of ${handle.workflowId} to ${BOUNCE_HISTORY_FIXTURE}`);
  } finally {
    await stack.stop();
    await recorder.close();
    await dev?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (err: Error) => {
      console.error(err.stack ?? err.message);
      process.exit(1);
    },
  );
}
