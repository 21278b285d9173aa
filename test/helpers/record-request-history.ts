// Records a -request message's history (subject and body "subscribe") as a request replay fixture. Two are
// committed: request-help-before-commands.json, made with requestWorkflow as it was before email commands (one help
// reply), and request-commands.json, made with the email-commands patch. Run after a build:
// node dist/test/helpers/record-request-history.js [out.json] — it starts its own dev server unless
// LISTFLOW_TEST_TEMPORAL_ADDRESS names one, and needs PostgreSQL as the tests do.
import { listSubAddress } from '../../mail/address.js';
import { REQUEST_COMMANDS_HISTORY_FIXTURE } from './history-fixture.js';
import { runRecorder, writeHistory } from './recording.js';
import { createList, post, queuedId } from './stack.js';

const out = process.argv[2] ?? REQUEST_COMMANDS_HISTORY_FIXTURE;

runRecorder(async (stack) => {
  const list = await createList(stack.db, [], 'replay');
  const { response } = await post(stack.smtpPort, { from: 'newcomer@elsewhere.example', to: listSubAddress(list, 'request'), subject: 'subscribe', text: 'subscribe\n' });
  const handle = stack.client.workflow.getHandle(queuedId(response));
  await handle.result();
  await writeHistory(handle, out);
});
