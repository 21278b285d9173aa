// Starting the site's prune workflow (prune/site) if it does not run: at every start of a core role.
import type { Client } from '@temporalio/client';
import { ListflowKind } from '../workflows/messages.js';
import { PRUNE_WORKFLOW_ID } from '../workflows/prune-contract.js';

/** Starts prune/site on `taskQueue` unless it runs already (then that one goes on, untouched); returns its run ID. */
export async function ensurePruneWorkflow(client: Client, taskQueue: string, workflowId = PRUNE_WORKFLOW_ID): Promise<string> {
  const handle = await client.workflow.start('pruneWorkflow', {
    workflowId,
    taskQueue,
    args: [{}],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [{ key: ListflowKind, value: 'prune' }],
  });
  return handle.firstExecutionRunId;
}
