// A list's refusals for policy reasons (5.7.x, DMARC, spam blocks), `bounce-policy/<list>`: gathered, and told
// to the owners as one summary a day at most, however many arrive; ends after a quiet day.
import { allHandlersFinished, condition, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { OutboundActivities } from '../activities/index.js';
import type { PolicyDomain } from '../mail/bounce-notices.js';
import { policyNoticeQuery, policyRefusalSignal, type PolicyNoticeStatus, type PolicyRefusal } from './messages.js';

const DAY_MS = 86_400_000;
/** How long the first refusal waits for others before the summary goes out (a storm arrives within minutes). */
const GATHER_MS = 15 * 60_000;
const MAX_DOMAINS = 50;
const MAX_HISTORY = 2_000;

export interface PolicyNoticeInput {
  list: string;
  deliveryTaskQueue: string;
  /** Carried by continue-as-new. */
  domains?: PolicyDomain[];
  total?: number;
  firstAt?: string | null;
  lastNoticeAt?: string | null;
  /** Refusals beyond MAX_DOMAINS domains, counted but not named. */
  others?: number;
  maxHistory?: number;
}


export async function policyNoticeWorkflow(input: PolicyNoticeInput): Promise<PolicyNoticeStatus> {
  const notices = proxyActivities<OutboundActivities>({
    taskQueue: input.deliveryTaskQueue,
    startToCloseTimeout: '5m',
    scheduleToCloseTimeout: '12h',
    retry: { initialInterval: '30s', maximumInterval: '30m', backoffCoefficient: 2 },
  });
  const domains = new Map<string, PolicyDomain>((input.domains ?? []).map((d) => [d.domain, d]));
  let total = input.total ?? 0;
  let others = input.others ?? 0;
  let firstAt: number | null = input.firstAt ? Date.parse(input.firstAt) : null;
  let lastNoticeAt: number | null = input.lastNoticeAt ? Date.parse(input.lastNoticeAt) : null;
  let nextNoticeAt: number | null = null;
  let lastResult = '';

  setHandler(policyRefusalSignal, (r: PolicyRefusal) => {
    total += 1;
    firstAt ??= Date.now();
    let d = domains.get(r.domain);
    if (!d) {
      if (domains.size >= MAX_DOMAINS) {
        others += 1;
        return;
      }
      domains.set(r.domain, (d = { domain: r.domain, count: 0, reasons: [], addresses: [], first: r.at, last: r.at }));
    }
    d.count += 1;
    d.last = r.at;
    const reason = `${r.status ? `${r.status} ` : ''}${r.reason}`.slice(0, 300);
    if (d.reasons.length < 3 && !d.reasons.includes(reason)) d.reasons.push(reason);
    if (d.addresses.length < 3 && !d.addresses.includes(r.address)) d.addresses.push(r.address);
  });
  const status = (): PolicyNoticeStatus => ({
    list: input.list,
    pending: total,
    domains: [...domains.values()],
    lastNoticeAt: lastNoticeAt ? new Date(lastNoticeAt).toISOString() : null,
    nextNoticeAt: nextNoticeAt ? new Date(nextNoticeAt).toISOString() : null,
    lastResult,
  });
  setHandler(policyNoticeQuery, status);

  const tooLong = () => workflowInfo().historyLength > (input.maxHistory ?? MAX_HISTORY) || workflowInfo().continueAsNewSuggested;
  for (;;) {
    if (total === 0) {
      // A quiet day after the last summary: nothing more to gather.
      const quietUntil = (lastNoticeAt ?? Date.now()) + DAY_MS;
      if (!(await condition(() => total > 0 || tooLong(), Math.max(1, quietUntil - Date.now())))) {
        await condition(allHandlersFinished);
        if (total === 0) return status();
      }
    } else {
      nextNoticeAt = Math.max((firstAt ?? Date.now()) + GATHER_MS, (lastNoticeAt ?? 0) + DAY_MS);
      if (!(await condition(tooLong, Math.max(1, nextNoticeAt - Date.now())))) {
        const sorted = [...domains.values()].sort((a, b) => b.count - a.count);
        if (others > 0) sorted.push({ domain: `(${others} more from other domains)`, count: others, reasons: [], addresses: [], first: '', last: '' });
        try {
          const r = await notices.notifyOwnersOfPolicyRefusals({ list: input.list, domains: sorted, total });
          lastResult = `${new Date().toISOString()}: ${total} refusal(s): ${r.detail}`;
        } catch (err) {
          lastResult = `${new Date().toISOString()}: summary not sent (${(err as Error).message})`;
        }
        lastNoticeAt = Date.now();
        nextNoticeAt = null;
        domains.clear();
        total = 0;
        others = 0;
        firstAt = null;
      }
    }
    if (tooLong()) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof policyNoticeWorkflow>({
        ...input,
        domains: [...domains.values()],
        total,
        others,
        firstAt: firstAt ? new Date(firstAt).toISOString() : null,
        lastNoticeAt: lastNoticeAt ? new Date(lastNoticeAt).toISOString() : null,
      });
    }
  }
}

