// Waiting on a list's reminder workflow (workflows/reminders.ts) by its status query, on either test server.
import type { Client } from '@temporalio/client';
import { remindersQuery, remindersWorkflowId, type RemindersStatus } from '../../workflows/messages.js';

/** Polls the reminder workflow's status until `done` holds; fails after 30 s with the last status seen. */
export async function remindersUntil(client: Client, list: string, done: (s: RemindersStatus) => boolean, what: string): Promise<RemindersStatus> {
  const deadline = Date.now() + 30_000;
  let last: RemindersStatus | undefined;
  for (;;) {
    try {
      last = await client.workflow.getHandle(remindersWorkflowId(list)).query(remindersQuery);
      if (done(last)) return last;
    } catch {
      // not started yet
    }
    if (Date.now() > deadline) throw new Error(`reminders of ${list} never reached "${what}" (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
