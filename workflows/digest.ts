// A list's digest: collects accepted posts and sends an issue when they pass the size threshold or the
// period ends (a durable timer), whichever comes first; continues as new after each issue and ends when
// nothing is pending and nobody takes digests any more.
import { allHandlersFinished, condition, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { CoreActivities, OutboundActivities } from '../activities/index.js';
import type { DigestSettings } from '../activities/digest.js';
import { nextNumbering, periodMs } from '../mail/digest-schedule.js';
import {
  digestPostSignal,
  digestStatusQuery,
  sendNowUpdate,
  type DigestInput,
  type DigestNumbering,
  type DigestPostRef,
  type DigestSendResult,
  type DigestStatus,
} from './messages.js';

/** Posts per issue at most: the references travel in one activity payload, which must stay well below 2 MiB. */
const MAX_POSTS = 300;
/** Well below Temporal's suggestion (about 4,096 events): a busy list signals a lot within one period. */
const MAX_HISTORY = 2_000;

// The pending posts live in this workflow: it waits out a database outage of up to a week before it fails.
const core = proxyActivities<CoreActivities>({
  startToCloseTimeout: '1m',
  scheduleToCloseTimeout: '7d',
  retry: { initialInterval: '1s', maximumInterval: '1m', backoffCoefficient: 2 },
});

export async function digestWorkflow(input: DigestInput): Promise<DigestStatus> {
  const pending = new Map<string, DigestPostRef>(input.pending.map((p) => [p.workflowId, p]));
  let last: DigestNumbering | null | undefined = input.last;
  let issuesSent = input.issuesSent ?? 0;
  let lastIssue = input.lastIssue ?? null;
  let settings: DigestSettings | null = null;
  let periodEnd: number | null = input.periodEndsAt ? Date.parse(input.periodEndsAt) : null;
  /** Issue attempts finished in this run, and the last one's outcome: what sendNow callers wait for. */
  let attempts = 0;
  let lastResult: DigestSendResult = { sent: false, detail: 'nothing to send' };
  let inFlight = false;
  let sendRequested = false;

  const size = () => [...pending.values()].reduce((n, p) => n + p.size, 0);
  const snapshot = (): DigestStatus => ({
    list: input.list,
    pending: [...pending.values()].sort((a, b) => a.seq - b.seq).map(({ workflowId, seq, subject, author, size }) => ({ workflowId, seq, subject, author, size })),
    size: size(),
    thresholdBytes: settings?.thresholdBytes ?? 0,
    period: settings?.period ?? '',
    nextSendAt: periodEnd === null ? null : new Date(periodEnd).toISOString(),
    last: last ?? null,
    issuesSent,
    lastIssue,
  });

  setHandler(digestPostSignal, (p) => {
    pending.set(p.workflowId, p);
  });
  setHandler(digestStatusQuery, snapshot);
  setHandler(sendNowUpdate, async (): Promise<DigestSendResult> => {
    if (pending.size === 0 && !inFlight) return { sent: false, detail: 'nothing to send' };
    // Posts that came while an issue is going out wait for the one after it.
    const target = attempts + (inFlight && pending.size > 0 ? 2 : 1);
    if (pending.size > 0) sendRequested = true;
    await condition(() => attempts >= target);
    return lastResult;
  });

  const s = await core.digestSettings({ list: input.list });
  settings = s;
  if (!s.exists) {
    // The list was deleted: its pending posts have nobody to go to, and a waiting sendNow is told so.
    lastResult = { sent: false, detail: `the list ${input.list} no longer exists` };
    attempts = Number.MAX_SAFE_INTEGER;
    await condition(allHandlersFinished);
    return snapshot();
  }
  if (last === undefined) last = s.last;
  const outbound = proxyActivities<OutboundActivities>({
    taskQueue: input.deliveryTaskQueue,
    startToCloseTimeout: '1h',
    heartbeatTimeout: '30s',
    // Temporarily failing members are retried for two days; the issue's ledger keeps retries from resending.
    scheduleToCloseTimeout: '2d',
    retry: { initialInterval: '30s', maximumInterval: '30m', backoffCoefficient: 2 },
  });

  const tooLong = () => workflowInfo().historyLength > MAX_HISTORY || workflowInfo().continueAsNewSuggested;
  const sizeReached = () => s.thresholdBytes > 0 && size() >= s.thresholdBytes;

  async function sendIssue(): Promise<void> {
    const posts = [...pending.values()].sort((a, b) => a.seq - b.seq).slice(0, MAX_POSTS);
    sendRequested = false;
    if (posts.length === 0) {
      // A sendNow is waiting, but nothing is left to send: it is answered, never left hanging.
      lastResult = { sent: false, detail: 'nothing to send' };
      attempts += 1;
      return;
    }
    inFlight = true;
    const numbering = nextNumbering(last ?? null, Date.now(), s.volumeFrequency);
    const name = `Vol ${numbering.volume}, Issue ${numbering.number}`;
    try {
      const r = await outbound.sendDigestIssue({ list: input.list, volume: numbering.volume, number: numbering.number, posts });
      if (r.posts > 0) {
        last = numbering;
        issuesSent += 1;
        lastResult = { sent: true, detail: `${name}: ${r.posts} post(s) to ${r.sent} of ${r.recipients} digest member(s)`, volume: numbering.volume, number: numbering.number, posts: r.posts };
      } else {
        lastResult = { sent: false, detail: 'nothing to send (the pending posts were in an earlier issue)' };
      }
    } catch (err) {
      // The issue may be stored and partly sent: its number is taken, and its posts went with it.
      last = numbering;
      const e = err as Error;
      lastResult = { sent: false, detail: `${name} not sent to everyone: ${e.cause instanceof Error ? e.cause.message : e.message}`, volume: numbering.volume, number: numbering.number };
    }
    for (const p of posts) pending.delete(p.workflowId);
    lastIssue = `${new Date().toISOString()}: ${lastResult.detail}`;
    attempts += 1;
    inFlight = false;
  }

  periodEnd ??= Date.now() + periodMs(s.period);
  for (;;) {
    const due = () => sendRequested || sizeReached() || pending.size >= MAX_POSTS;
    const woken = await condition(() => due() || tooLong(), Math.max(1, periodEnd! - Date.now()));
    const periodOver = !woken || Date.now() >= periodEnd!;
    if (sendRequested || (pending.size > 0 && (periodOver || due()))) await sendIssue();
    if (periodOver) periodEnd = Date.now() + periodMs(s.period);
    // A sendNow that came during the issue is answered by another one at once.
    if (sendRequested) continue;
    let ending = false;
    if (pending.size === 0 && periodOver) {
      const now = await core.digestSettings({ list: input.list });
      ending = !now.exists || now.digestMembers === 0;
    }
    // Signals and updates that came meanwhile are handled before the run ends or continues as new.
    await condition(() => allHandlersFinished() || sendRequested);
    if (sendRequested) continue;
    if (ending && pending.size === 0) return snapshot();
    await continueAsNew<typeof digestWorkflow>({
      list: input.list,
      deliveryTaskQueue: input.deliveryTaskQueue,
      pending: [...pending.values()],
      last: last ?? null,
      periodEndsAt: new Date(periodEnd).toISOString(),
      issuesSent,
      lastIssue,
    });
  }
}
