// Records a real post's history (held → approved by signal → delivered) with today's workflow code, as the
// replay test's fixture of the newest path (the older fixtures were recorded by older code and are kept;
// post-local-steps.json was the newest before the dns-first patch).
// Run after a build: node dist/test/helpers/record-history.js [out.json] — it starts its own dev server unless
// LISTFLOW_TEST_TEMPORAL_ADDRESS names one, and needs PostgreSQL as the tests do.
import { approveSignal } from '../../workflows/messages.js';
import { POST_DNS_FIRST_FIXTURE } from './history-fixture.js';
import { runRecorder, writeHistory } from './recording.js';
import { createList, post, queuedId, subscribe, waitForState } from './stack.js';

runRecorder(async (stack) => {
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
  await writeHistory(handle, process.argv[2] ?? POST_DNS_FIRST_FIXTURE);
});
