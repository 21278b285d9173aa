// What became of a workflow that is no longer running: its final status, or how Temporal ended it (for the CLI and the web API).
import type { WorkflowHandle } from '@temporalio/client';
import { ListflowState, type MailStatus, type PostStatus } from '../workflows/messages.js';

export interface Fate {
  /** RUNNING, COMPLETED, FAILED, TERMINATED, … as Temporal names it. */
  execution: string;
  /** The workflow's result when it completed (its last status). */
  status?: PostStatus | MailStatus;
  /** The last state visibility recorded (ListflowState). */
  lastState?: string;
}

export async function fateOf(handle: WorkflowHandle): Promise<Fate> {
  const described = await handle.describe();
  const execution = described.status.name;
  const lastState = described.typedSearchAttributes.get(ListflowState);
  if (execution !== 'COMPLETED') return { execution, lastState };
  // A completed workflow's result is its final status; reading it needs no worker.
  const status = (await handle.result()) as PostStatus | MailStatus;
  return { execution, status, lastState };
}

/** "it is delivered", or "its workflow was terminated" when it did not complete. */
export function describeFate(fate: Fate): string {
  if (fate.status) return `it is ${fate.status.state}`;
  return `its workflow ${fate.execution === 'RUNNING' ? 'is running' : `was ${fate.execution.toLowerCase().replace(/_/g, ' ')}`}`;
}
