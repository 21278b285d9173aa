// The time-skipping test server for days-long waits, with listflow's search attributes registered on it.
import proto from '@temporalio/proto';
import type { WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { SEARCH_ATTRIBUTES } from '../../workflows/messages.js';
import { quietRuntime } from './temporal.js';

/**
 * Starts the binary test/run.ts resolved (LISTFLOW_TEST_TIME_SKIPPING_SERVER), or the SDK's cached download
 * when none was found. Workflows upsert listflow's search attributes, which this server refuses until they
 * are added (it implements AddSearchAttributes, not ListSearchAttributes).
 */
export async function startTimeSkipping(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  const path = process.env.LISTFLOW_TEST_TIME_SKIPPING_SERVER;
  const env = await TestWorkflowEnvironment.createTimeSkipping(path ? { server: { executable: { type: 'existing-path', path } } } : {});
  try {
    const KEYWORD = proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
    await env.connection.operatorService.addSearchAttributes({
      namespace: env.namespace ?? 'default',
      searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTES.map((k) => [k.name, KEYWORD])),
    });
  } catch (err) {
    await env.teardown();
    throw err;
  }
  return env;
}

/**
 * A workflow's result, or after `ms` a failure saying where it stands (state, pending activities), so a
 * stuck run fails with a diagnosis instead of holding its test file until the runner's timeout.
 */
export async function resultWithin<T>(handle: WorkflowHandle, ms = 60_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const overrun = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void (async () => {
        let where = '';
        try {
          const d = await handle.describe();
          const pending = d.raw.pendingActivities?.map((a) => `${a.activityType?.name} attempt ${a.attempt} (${a.lastFailure?.message ?? 'no failure'})`) ?? [];
          where = `status ${d.status.name}; pending activities: ${pending.join(', ') || 'none'}`;
        } catch (err) {
          where = `describe failed: ${(err as Error).message}`;
        }
        reject(new Error(`${handle.workflowId} gave no result within ${ms} ms: ${where}`));
      })();
    }, ms);
  });
  try {
    return (await Promise.race([handle.result(), overrun])) as T;
  } finally {
    clearTimeout(timer);
  }
}
