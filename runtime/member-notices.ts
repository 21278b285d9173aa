// Waking a list's member-notices workflow, which sends the welcomes and goodbyes the database says are owed.
import type { Client } from '@temporalio/client';
import type { Db } from '../store/db.js';
import { listsOwingNotices } from '../store/subscriptions.js';
import { ListflowKind, ListflowList, memberNoticesSignal, memberNoticesWorkflowId } from '../workflows/messages.js';

export interface NoticeQueues {
  taskQueue: string;
  deliveryTaskQueue: string;
}

/** Signal-with-start: a running workflow reads the owed rows again, a finished one starts anew. */
export async function wakeMemberNotices(client: Client, queues: NoticeQueues, list: string): Promise<string> {
  const workflowId = memberNoticesWorkflowId(list);
  await client.workflow.signalWithStart('memberNoticesWorkflow', {
    workflowId,
    taskQueue: queues.taskQueue,
    args: [{ list, deliveryTaskQueue: queues.deliveryTaskQueue }],
    signal: memberNoticesSignal,
    signalArgs: [],
    typedSearchAttributes: [
      { key: ListflowList, value: list },
      { key: ListflowKind, value: 'member-notices' },
    ],
  });
  return workflowId;
}

/** At start: whatever `members add|remove` left owed while Temporal was unreachable goes out now. */
export async function wakeOwedMemberNotices(db: Db, client: Client, queues: NoticeQueues): Promise<string[]> {
  const lists = await listsOwingNotices(db);
  for (const list of lists) await wakeMemberNotices(client, queues, list);
  return lists;
}
