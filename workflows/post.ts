// The life of one post: classify, hold for a moderator if need be, accept, and deliver through the ledger.
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { CoreActivities, OutboundActivities } from '../activities/index.js';
import type { Accepted, Classification } from '../activities/posts.js';
import { endsFailed, failureReason, tellOwners } from './failure.js';
import { isSha256 } from '../mail/ids.js';
import type { AuthSummary } from '../mail/authenticity.js';
import {
  approveSignal,
  deferSignal,
  decidedPostSignal,
  discardSignal,
  ListflowSender,
  ListflowState,
  moderateUpdate,
  rejectSignal,
  remindersWorkflowId,
  statusQuery,
  type DeliveryCounts,
  type EditedApproval,
  type InboundMail,
  type ModerationDecision,
  type PostState,
  type PostStatus,
} from './messages.js';

/** Task queues: the core queue runs this workflow and database work; the delivery queue talks SMTP. */
export interface PostOptions {
  deliveryTaskQueue: string;
  /** How many delivery batches of one post run at once. */
  parallelBatches: number;
}

const DAY_MS = 86_400_000;
/** Defer notes live in the status (and every query answer): keep them bounded. */
const MAX_NOTES = 100;
const MAX_NOTE_LENGTH = 1000;

const dbRetry: ActivityOptions['retry'] = { initialInterval: '1s', maximumInterval: '1m', backoffCoefficient: 2 };

/**
 * The post's database steps retry with back-off for two hours at most (a database restart or failover heals
 * well within it); errors no retry heals come back non-retryable at once (activities/failures.ts). Either way
 * the post then ends `failed` and the owners are told (workflows/failure.ts).
 */
const coreOptions: ActivityOptions = { startToCloseTimeout: '5m', scheduleToCloseTimeout: '2h', retry: dbRetry };
/** Telling the reminder workflow is worth an hour of retries, no more: a decision waits for it. */
const reminderOptions: ActivityOptions = { startToCloseTimeout: '1m', scheduleToCloseTimeout: '1h', retry: dbRetry };
/** Digest members get no regular copy, so a post missing from the digest is lost to them: a day of retries. */
const digestOptions: ActivityOptions = { startToCloseTimeout: '1m', scheduleToCloseTimeout: '1d', retry: dbRetry };

/**
 * The post's own steps (verify, classify, accept, archive, register) only read and write the database, and
 * the core worker that runs this workflow has it. Since LOCAL_STEPS_PATCH they run as local activities in
 * that worker: each is still an activity, retried alike, with its result recorded in the history, but the
 * post reaches its first delivery batch in one workflow task instead of five. On one host the Temporal
 * server's single SQLite writer is what bounds ingest, and each task it no longer schedules, dispatches and
 * records is room for more posts. Delivery stays a regular activity on the delivery queue (another host).
 */
const LOCAL_STEPS_PATCH = 'local-steps';
function steps(local: boolean) {
  const proxy = local ? proxyLocalActivities<CoreActivities> : proxyActivities<CoreActivities>;
  return { core: proxy(coreOptions), reminderRegistry: proxy(reminderOptions), digestRegistry: proxy(digestOptions) };
}

/**
 * Since DNS_FIRST_PATCH nothing that waits on the network runs as a local activity or inside a transaction:
 * sender verification (SPF, DKIM, DMARC, ARC: up to 30 s of DNS) and the DMARC policy lookup acceptance may
 * need are regular activities on the core queue, and acceptPost (local) only numbers, decorates and stores.
 */
const DNS_FIRST_PATCH = 'dns-first';
const network = proxyActivities<CoreActivities>({
  startToCloseTimeout: '2m',
  scheduleToCloseTimeout: '30m',
  retry: { initialInterval: '5s', maximumInterval: '2m', backoffCoefficient: 2, maximumAttempts: 6 },
});

function outbound(taskQueue: string) {
  const notices = proxyActivities<OutboundActivities>({
    taskQueue,
    startToCloseTimeout: '5m',
    // A notice that cannot be sent for a day is given up; the post's fate does not depend on it.
    scheduleToCloseTimeout: '1d',
    retry: { initialInterval: '30s', maximumInterval: '30m', backoffCoefficient: 2 },
  });
  // SMTP trouble is recorded per recipient and retried on the post's own timers; what a batch throws is the
  // database or a lost worker, worth a day of retries.
  const delivery = proxyActivities<OutboundActivities>({
    taskQueue,
    startToCloseTimeout: '2h',
    heartbeatTimeout: '10s',
    scheduleToCloseTimeout: '1d',
    retry: { initialInterval: '5s', maximumInterval: '5m', backoffCoefficient: 2 },
  });
  return { notices, delivery };
}

export async function postWorkflow(mail: InboundMail, options: PostOptions): Promise<PostStatus> {
  const { notices, delivery } = outbound(options.deliveryTaskQueue);
  // Posts started before local steps replay with the regular activities they scheduled.
  const localSteps = patched(LOCAL_STEPS_PATCH);
  /**
   * The patches before it are implied by it: a post with local steps asks for none of them. Each patched()
   * call records a marker and upserts TemporalChangeVersion, so every post paid for a visibility write per
   * patch; only posts from before local steps ask (and replay) them one by one.
   */
  const since = (patch: string) => localSteps || patched(patch);
  const { core, reminderRegistry, digestRegistry } = steps(localSteps);
  const workflowId = workflowInfo().workflowId;
  const batchCounts = new Map<number, DeliveryCounts>();
  let decision: (ModerationDecision & { by: string }) | undefined;
  let edited: EditedApproval | undefined;

  const status: PostStatus = {
    workflowId,
    state: 'received',
    list: mail.list,
    sender: null,
    envelopeFrom: mail.envelopeFrom,
    subject: '',
    messageId: '',
    receivedAt: mail.receivedAt,
    size: 0,
    decision: { action: null, summary: '', hits: [], misses: [] },
    heldUntil: null,
    seq: null,
    delivery: { total: 0, sent: 0, failed: 0, pending: 0 },
    deliveryRounds: 0,
    nextRetryAt: null,
    notices: [],
    auth: null,
    updatedAt: new Date().toISOString(),
  };

  /**
   * Search attributes follow the state. With local steps, several states can pass within one workflow task,
   * and only the last of them is ever visible: they are sent once, as the task ends (before the workflow
   * waits or returns), so the server writes the visibility record once instead of once per change.
   */
  const unsentAttributes = new Map<string, SearchAttributeUpdatePair>();
  function setAttribute(pair: SearchAttributeUpdatePair): void {
    if (localSteps) unsentAttributes.set(pair.key.name, pair);
    else upsertSearchAttributes([pair]);
  }
  function sendAttributes(): void {
    if (unsentAttributes.size === 0) return;
    upsertSearchAttributes([...unsentAttributes.values()]);
    unsentAttributes.clear();
  }

  function setState(state: PostState): void {
    status.state = state;
    status.updatedAt = new Date().toISOString();
    setAttribute({ key: ListflowState, value: state });
  }

  function tally(): void {
    const sum: DeliveryCounts = { total: status.delivery.total, sent: 0, failed: 0, pending: 0 };
    for (const c of batchCounts.values()) {
      sum.sent += c.sent;
      sum.failed += c.failed;
      sum.pending += c.pending;
    }
    // Batches not run yet are pending too.
    sum.pending = sum.total - sum.sent - sum.failed;
    status.delivery = sum;
  }

  function decide(d: ModerationDecision): void {
    if (status.state !== 'held' || decision) return;
    decision = { ...d, by: d.by || 'unknown' };
  }

  /** defer: the post stays held and its timer runs on; only the note is kept. */
  function addNote(by: string, note: string): void {
    if (status.state !== 'held' || decision) return;
    const notes = (status.decision.notes ??= []);
    if (notes.length >= MAX_NOTES) return;
    notes.push({ note: note.slice(0, MAX_NOTE_LENGTH), by, at: new Date().toISOString() });
    status.updatedAt = new Date().toISOString();
  }

  /**
   * approve with an edited version, by hash: the workflow cannot read the store, so an activity checks the
   * hash names a deliverable message first. Returns why it was not approved, or null when it was.
   */
  async function approveEdited(sha256: string, by: string): Promise<{ problem: string; type: string } | null> {
    const notHeld = () => ({ problem: `the post is not held any more (it is ${status.state})`, type: 'NotHeld' });
    if (status.state !== 'held' || decision) return notHeld();
    const check = await core.checkEditedMessage(sha256);
    if (!check.ok) return { problem: check.problem, type: 'BadEdit' };
    // Another decision may have come while the check ran.
    if (status.state !== 'held' || decision) return notHeld();
    edited = { by, originalSha256: mail.sha256, editedSha256: sha256, subject: check.subject };
    decide({ action: 'approve', by });
    return null;
  }

  /** Notices never decide a post's fate: a notice that cannot be sent is recorded in the status, not thrown. */
  const pendingNotices: Promise<void>[] = [];
  function notify(to: string, sending: Promise<{ sent: string[]; failed: string[] }>): void {
    pendingNotices.push(
      sending.then(
        (r: { sent: string[]; failed: string[]; skipped?: string }) => {
          if (r.skipped) {
            status.notices.push(`${to}: not sent (${r.skipped})`);
            return;
          }
          status.notices.push(`${to}: ${r.sent.length ? `sent to ${r.sent.join(', ')}` : 'nobody to send to'}${r.failed.length ? `; refused for ${r.failed.join(', ')}` : ''}`);
        },
        (err: Error) => {
          status.notices.push(`${to}: not sent (${err.cause instanceof Error ? err.cause.message : err.message})`);
        },
      ),
    );
  }
  /** The workflow ends once its notices are settled, so none is abandoned half-sent. */
  async function finish(): Promise<PostStatus> {
    sendAttributes();
    await Promise.all(pendingNotices);
    return status;
  }

  setHandler(statusQuery, () => status);
  setHandler(approveSignal, async (arg) => {
    if (arg?.editedSha256 === undefined) return decide({ action: 'approve', by: arg?.by ?? 'signal' });
    const refused = await approveEdited(String(arg.editedSha256), arg.by ?? 'signal');
    // A signal has no answer: say in the status why the post is still held.
    if (refused?.type === 'BadEdit') addNote('listflow', `approval by ${arg.by ?? 'signal'} not taken: ${refused.problem}`);
  });
  setHandler(rejectSignal, (arg) => decide({ action: 'reject', reason: arg?.reason, by: arg?.by ?? 'signal' }));
  setHandler(discardSignal, (arg) => decide({ action: 'discard', by: arg?.by ?? 'signal' }));
  setHandler(deferSignal, (arg) => addNote(arg?.by ?? 'signal', typeof arg?.note === 'string' ? arg.note : ''));
  setHandler(
    moderateUpdate,
    async (d: ModerationDecision) => {
      if (d.action === 'defer') {
        addNote(d.by || 'unknown', d.note ?? '');
        return status;
      }
      if (d.editedSha256 !== undefined) {
        const refused = await approveEdited(d.editedSha256, d.by || 'unknown');
        if (refused) throw ApplicationFailure.nonRetryable(refused.problem, refused.type);
      } else {
        decide(d);
      }
      await condition(() => status.state !== 'held');
      return status;
    },
    {
      validator: (d: ModerationDecision) => {
        if (!d || !['approve', 'reject', 'discard', 'defer'].includes(d.action)) {
          throw ApplicationFailure.nonRetryable('action must be approve, reject, discard or defer', 'BadDecision');
        }
        if (d.editedSha256 !== undefined && (d.action !== 'approve' || !isSha256(d.editedSha256))) {
          throw ApplicationFailure.nonRetryable('editedSha256 goes with approve and is a SHA-256 (64 lower-case hex digits)', 'BadDecision');
        }
        if (d.note !== undefined && (typeof d.note !== 'string' || d.note.length > MAX_NOTE_LENGTH)) {
          throw ApplicationFailure.nonRetryable(`a note is text of at most ${MAX_NOTE_LENGTH} characters`, 'BadDecision');
        }
        if (d.action === 'defer' && (status.decision.notes?.length ?? 0) >= MAX_NOTES) {
          throw ApplicationFailure.nonRetryable(`the post has ${MAX_NOTES} notes already`, 'BadDecision');
        }
        if (status.state !== 'held' || decision) {
          throw ApplicationFailure.nonRetryable(`the post is not held any more (it is ${status.state})`, 'NotHeld');
        }
      },
    },
  );

  /**
   * An activity that failed for good (out of retries, or an error no retry heals) ends the post `failed`: the
   * reason in its status and ListflowState, one notice to the owners, and the workflow completes, so the
   * operator finds it with `listflow failed` rather than in a retry loop. A list deleted meanwhile discards.
   */
  async function failed(err: unknown): Promise<PostStatus> {
    if (isListGone(err)) {
      status.decision.summary = `the list ${mail.list} no longer exists`;
      setState('discarded');
      return finish();
    }
    status.failure = failureReason(err);
    status.heldUntil = null;
    status.nextRetryAt = null;
    setState('failed');
    sendAttributes();
    status.notices.push(await tellOwners(options.deliveryTaskQueue, { list: mail.list, workflowId, kind: 'post', reason: status.failure }));
    return finish();
  }

  /** The list was deleted (while the post waited, say): nobody is left to deliver to. */
  function listGone(): Promise<PostStatus> {
    status.decision.summary = `the list ${mail.list} no longer exists`;
    setState('discarded');
    return finish();
  }

  async function lifecycle(): Promise<PostStatus> {
    let c: Classification;
    let auth: AuthSummary | null = null;
    try {
      // Posts started before sender authentication existed replay without it.
      if (since('verify-sender')) {
        auth = patched(DNS_FIRST_PATCH) ? await network.verifySender(mail) : await core.verifySender(mail);
        status.auth = auth;
      }
      c = await core.classifyPost(mail, auth);
    } catch (err) {
      if (isListGone(err)) return listGone();
      throw err;
    }
    Object.assign(status, { sender: c.sender, subject: c.subject, messageId: c.messageId, size: c.size });
    status.decision = { action: c.verdict.action, summary: c.verdict.summary, hits: c.verdict.hits, misses: c.verdict.misses };
    setAttribute({ key: ListflowSender, value: (c.sender ?? '').toLowerCase() });

    const post = { list: mail.list, workflowId, subject: c.subject, sender: c.sender };
    const poster = c.sender ?? mail.envelopeFrom;
    const mayTellPoster = c.noReplyReason === null && !!poster;

    let action: 'accept' | 'reject' | 'discard' = c.verdict.action === 'hold' ? 'discard' : c.verdict.action;
    let rejectReason = c.verdict.summary;

    if (c.verdict.action === 'hold') {
      const holdMs = c.maxHoldDays * DAY_MS;
      status.heldUntil = new Date(Date.now() + holdMs).toISOString();
      setState('held');
      // Notices go out while the post waits: a moderator may decide before they are even sent.
      notify('moderators', notices.notifyModerators({ post, reason: c.verdict.summary, hits: c.verdict.hits, days: c.maxHoldDays, heldUntil: status.heldUntil, sha256: mail.sha256 }));
      // The list's daily reminder learns of the post; patched so histories from before reminders still replay.
      const reminders = since('moderation-reminders');
      let registered: Promise<void> = Promise.resolve();
      if (reminders) {
        const waiting = { workflowId, sender: c.sender, subject: c.subject, heldAt: new Date().toISOString(), heldUntil: status.heldUntil };
        registered = reminderRegistry
          .registerHeldPost({ list: mail.list, deliveryTaskQueue: options.deliveryTaskQueue, post: waiting })
          .catch((err: Error) => {
            status.notices.push(`reminders: not registered (${err.cause instanceof Error ? err.cause.message : err.message})`);
          });
      }
      if (c.notifyHeldSender && mayTellPoster) {
        notify('poster (held)', notices.notifyPoster({ post, to: poster, messageId: c.messageId, notice: { kind: 'held', reason: c.verdict.summary, days: c.maxHoldDays } }));
      }
      sendAttributes();
      const decided = await condition(() => decision !== undefined, holdMs);
      status.heldUntil = null;
      if (reminders) {
        // After the registration, so the reminder workflow never learns of the decision before the hold.
        await registered;
        await getExternalWorkflowHandle(remindersWorkflowId(mail.list))
          .signal(decidedPostSignal, { workflowId })
          .catch(() => {
            // No reminder workflow runs (it ended, finding the post decided): nothing to tell.
          });
      }
      if (decided && decision) {
        // defer never sets a decision (it only adds a note), so the action here is approve, reject or discard.
        const chosen = decision.action as 'approve' | 'reject' | 'discard';
        status.decision.moderation = { action: chosen, by: decision.by, reason: decision.reason ?? '', at: new Date().toISOString(), ...(edited ? { edited } : {}) };
        action = chosen === 'approve' ? 'accept' : chosen;
        rejectReason = decision.reason || 'rejected by a moderator';
      } else {
        status.decision.moderation = { action: 'expire', by: 'listflow', reason: `no decision in ${c.maxHoldDays} day(s)`, at: new Date().toISOString() };
        setState('expired');
        if (mayTellPoster) {
          notify('poster (expired)', notices.notifyPoster({ post, to: poster, messageId: c.messageId, notice: { kind: 'expired', days: c.maxHoldDays, action: c.holdExpiryAction } }));
        }
        return finish();
      }
    }

    if (action === 'discard') {
      setState('discarded');
      return finish();
    }
    if (action === 'reject') {
      setState('rejected');
      if (mayTellPoster) {
        notify('poster (rejected)', notices.notifyPoster({ post, to: poster, messageId: c.messageId, notice: { kind: 'rejected', reason: rejectReason, hits: c.verdict.hits } }));
      }
      return finish();
    }

    setState('accepted');
    let accepted: Accepted;
    try {
      const input = { workflowId, mail, auth, ...(edited ? { sha256: edited.editedSha256 } : {}) };
      if (patched(DNS_FIRST_PATCH)) {
        // The DMARC policy the verification could not tell is looked up before the step that locks the list.
        let r = await core.acceptPost({ ...input, dnsFirst: true });
        if ('needsPolicy' in r) r = await core.acceptPost({ ...input, dnsFirst: true, policy: await network.lookupDmarcPolicy({ sha256: input.sha256 ?? mail.sha256, auth }) });
        if ('needsPolicy' in r) throw ApplicationFailure.nonRetryable(`the DMARC policy of ${r.needsPolicy} was looked up and still asked for`, 'BadAccept');
        accepted = r;
      } else {
        accepted = (await core.acceptPost(input)) as Accepted;
      }
    } catch (err) {
      // The list was deleted while the post was held: nobody is left to deliver to.
      if (isListGone(err)) return listGone();
      throw err;
    }
    status.seq = accepted.seq;
    // Filed before delivery, as the list-level message; patched so histories from before the archive replay.
    if (since('archive')) await core.archivePost({ workflowId, list: mail.list });
    if (accepted.dmarcMitigation) status.dmarcMitigation = accepted.dmarcMitigation;
    status.delivery = { total: accepted.total, sent: 0, failed: 0, pending: accepted.total };
    setState('delivering');
    // The list's digest learns of the post while delivery runs; patched so histories from before digests replay.
    if (since('digest')) {
      pendingNotices.push(
        digestRegistry.registerDigestPost({ list: mail.list, workflowId, deliveryTaskQueue: options.deliveryTaskQueue }).then(
          () => undefined,
          (err: Error) => void status.notices.push(`digest: not registered (${err.cause instanceof Error ? err.cause.message : err.message})`),
        ),
      );
    }

    const runBatches = async (batches: number[]): Promise<void> => {
      sendAttributes();
      status.deliveryRounds += 1;
      let next = 0;
      const lane = async () => {
        while (next < batches.length) {
          const batch = batches[next++] as number;
          const counts = await delivery.deliverBatch({ workflowId, list: mail.list, batch, mode: accepted.mode });
          batchCounts.set(batch, counts);
          tally();
        }
      };
      await Promise.all(Array.from({ length: Math.min(options.parallelBatches, batches.length) }, lane));
    };

    await runBatches(Array.from({ length: accepted.batches }, (_, i) => i));

    const deadline = Date.now() + accepted.retryDays * DAY_MS;
    let waitMs = accepted.retryWaitSeconds * 1000;
    while (status.delivery.pending > 0) {
      const left = deadline - Date.now();
      if (left <= 0) {
        status.nextRetryAt = null;
        const final = await core.expireDeliveries({ workflowId, list: mail.list });
        status.delivery = final;
        break;
      }
      const pause = Math.min(waitMs, left);
      status.nextRetryAt = new Date(Date.now() + pause).toISOString();
      await sleep(pause);
      status.nextRetryAt = null;
      waitMs = Math.min(waitMs * 2, accepted.retryMaxWaitSeconds * 1000);
      await runBatches(await core.pendingBatches(workflowId));
    }

    setState('delivered');
    return finish();
  }

  try {
    return await lifecycle();
  } catch (err) {
    if (endsFailed(err)) return failed(err);
    throw err;
  }
}

/** A regular activity's failure wraps the activity's own (ActivityFailure → ApplicationFailure); a local one's comes bare. */
function isListGone(err: unknown): boolean {
  const failure = err instanceof ActivityFailure ? err.cause : err;
  return failure instanceof ApplicationFailure && failure.type === 'ListGone';
}
