// Records a post whose stored message is missing (classification fails for good, the post ends failed and the
// owners are told once) as the replay fixture of the failed path. Run after a build:
// node dist/test/helpers/record-failed-history.js [out.json] — it starts its own dev server unless
// LISTFLOW_TEST_TEMPORAL_ADDRESS names one, and needs PostgreSQL as the tests do.
import { createHash, randomBytes } from 'node:crypto';
import { workflowIdFor } from '../../mail/ids.js';
import { initialAttributes, type InboundMail } from '../../workflows/messages.js';
import { POST_FAILED_FIXTURE } from './history-fixture.js';
import { runRecorder, writeHistory } from './recording.js';
import { createList, subscribe } from './stack.js';

runRecorder(async (stack) => {
  const list = await createList(stack.db, [], 'replay');
  await subscribe(stack.db, list, ['owner@owners.example'], 'owner');
  const sha256 = createHash('sha256').update(randomBytes(32)).digest('hex');
  const mail: InboundMail = { list, sha256, envelopeFrom: 'someone@elsewhere.example', rcptTo: list, receivedAt: new Date().toISOString(), clientIp: '127.0.0.1', helo: 'client.example' };
  const handle = await stack.client.workflow.start('postWorkflow', {
    workflowId: workflowIdFor('post', list, sha256),
    taskQueue: stack.taskQueue,
    args: [mail, { deliveryTaskQueue: stack.deliveryTaskQueue, parallelBatches: 4 }],
    typedSearchAttributes: initialAttributes(list, 'post', mail.envelopeFrom),
  });
  const result = (await handle.result()) as { state: string };
  if (result.state !== 'failed') throw new Error(`the post ended ${result.state}, not failed`);
  await writeHistory(handle, process.argv[2] ?? POST_FAILED_FIXTURE);
});
