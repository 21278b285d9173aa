// Records a bounce workflow's history as the replay test's fixture (test/fixtures/histories/bounce-recorded.json).
// It was made with the bounce workflow as it was before bounce processing (a bounce only recorded), so the replay
// test proves such histories still replay. Run after a build: node dist/test/helpers/record-bounce-history.js
// (it starts its own dev server unless LISTFLOW_TEST_TEMPORAL_ADDRESS names one; needs PostgreSQL as the tests do).
import { fileURLToPath } from 'node:url';
import { sendBounce } from './bounces.js';
import { runRecorder, writeHistory } from './recording.js';
import { createList, queuedId, subscribe } from './stack.js';

export const BOUNCE_HISTORY_FIXTURE = fileURLToPath(new URL('../../../test/fixtures/histories/bounce-recorded.json', import.meta.url));

// Imported by the replay test for the fixture's path: record only when run as a script.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runRecorder(async (stack) => {
    const list = await createList(stack.db, [], 'replay');
    await subscribe(stack.db, list, ['gone@members.example']);
    const handle = stack.client.workflow.getHandle(queuedId(await sendBounce(stack.smtpPort, 'dsn-user-unknown.eml', { list, member: 'gone@members.example' })));
    await handle.result();
    await writeHistory(handle, BOUNCE_HISTORY_FIXTURE);
  });
}
