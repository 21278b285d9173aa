// Retention: a durable timer loop that prunes what finished mail leaves behind, once every prune_interval_hours,
// and continues as new so its history stays short. One per site: prune/site.
import { allHandlersFinished, condition, continueAsNew, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { CoreActivities } from '../activities/index.js';
import { ListflowState } from './messages.js';
import { addCounts, pruneNowSignal, pruneStatusQuery, zeroCounts, type PruneInput, type PruneRunSummary, type PruneStatus } from './prune-contract.js';

const HOUR_MS = 3_600_000;
/** About 10 events per run: a few hundred runs stay far below Temporal's continue-as-new suggestion. */
const RUNS_PER_EXECUTION = 100;
const MAX_HISTORY = 2_000;
/** A backlog (the first run on a large site) is worked through in calls of this budget, each a fresh activity. */
const BUDGET_SECONDS = 300;
const MAX_CALLS_PER_RUN = 200;

const { pruneRun } = proxyActivities<CoreActivities>({
  startToCloseTimeout: '30m',
  // Each batch heartbeats: a worker that died mid-run is noticed within a minute and the run resumes (every
  // batch is its own transaction, so nothing is half done).
  heartbeatTimeout: '1m',
  retry: { initialInterval: '30s', maximumInterval: '10m', backoffCoefficient: 2 },
});

export async function pruneWorkflow(input: PruneInput = {}): Promise<void> {
  const runsPerExecution = input.runsPerExecution ?? RUNS_PER_EXECUTION;
  const status: PruneStatus = {
    state: 'pruning',
    runs: input.runs ?? 0,
    runsThisExecution: 0,
    nextRunAt: null,
    last: input.last ?? null,
    totals: input.totals ?? zeroCounts(),
  };
  let wake = false;
  setHandler(pruneStatusQuery, () => status);
  setHandler(pruneNowSignal, () => {
    wake = true;
  });
  const setState = (state: PruneStatus['state']) => {
    status.state = state;
    upsertSearchAttributes([{ key: ListflowState, value: state }]);
  };

  for (;;) {
    // A pruneNow that comes while this run works asks for one more after it.
    wake = false;
    setState('pruning');
    const startedAt = new Date().toISOString();
    let counts = zeroCounts();
    let calls = 0;
    let result;
    do {
      result = await pruneRun({ budgetSeconds: input.budgetSeconds ?? BUDGET_SECONDS });
      counts = addCounts(counts, result.counts);
      calls += 1;
    } while (result.more && calls < MAX_CALLS_PER_RUN);
    const summary: PruneRunSummary = { startedAt, endedAt: new Date().toISOString(), calls, counts, retention: result.retention };
    status.last = summary;
    status.totals = addCounts(status.totals, counts);
    status.runs += 1;
    status.runsThisExecution += 1;

    const intervalMs = result.intervalHours * HOUR_MS;
    status.nextRunAt = new Date(Date.now() + intervalMs).toISOString();
    setState('waiting');
    await condition(() => wake, intervalMs);
    status.nextRunAt = null;

    const info = workflowInfo();
    if (status.runsThisExecution >= runsPerExecution || info.historyLength > MAX_HISTORY || info.continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof pruneWorkflow>({
        runs: status.runs,
        totals: status.totals,
        last: status.last,
        ...(input.runsPerExecution !== undefined ? { runsPerExecution: input.runsPerExecution } : {}),
        ...(input.budgetSeconds !== undefined ? { budgetSeconds: input.budgetSeconds } : {}),
      });
    }
  }
}
