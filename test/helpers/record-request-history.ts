// Records a -request message's history (subject and body "subscribe") as a request replay fixture. Two are
// committed: request-help-before-commands.json, made with requestWorkflow as it was before email commands (one help
// reply), and request-commands.json, made with the email-commands patch. Run after a build:
// node dist/test/helpers/record-request-history.js [out.json] — it starts its own dev server unless
// LISTFLOW_TEST_TEMPORAL_ADDRESS names one, and needs PostgreSQL as the tests do.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { listSubAddress } from '../../mail/address.js';
import { freePort } from '../../runtime/ports.js';
import { prepareNamespace, startDevServer, type EmbeddedTemporal } from '../../runtime/temporal.js';
import { REQUEST_COMMANDS_HISTORY_FIXTURE } from './history-fixture.js';
import { startSmtpRecorder } from './smtp-recorder.js';
import { createList, post, queuedId, startStack } from './stack.js';

async function main(): Promise<void> {
  const out = process.argv[2] ?? REQUEST_COMMANDS_HISTORY_FIXTURE;
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
    const { response } = await post(stack.smtpPort, { from: 'newcomer@elsewhere.example', to: listSubAddress(list, 'request'), subject: 'subscribe', text: 'subscribe\n' });
    const handle = stack.client.workflow.getHandle(queuedId(response));
    await handle.result();
    const history = await handle.fetchHistory();
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 2)}\n`);
    log(`wrote ${history.events?.length ?? 0} events of ${handle.workflowId} to ${out}`);
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
