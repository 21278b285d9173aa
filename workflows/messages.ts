// Signals, updates, queries and search attributes of listflow's workflows: the names operators and scripts use.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AuthSummary } from '../mail/authenticity.js';
import type { RuleHit } from '../mail/chain.js';
import type { WaitingPost } from '../mail/notices.js';

/** `failed`: a step failed for good (see `failure`); the owners were told and nothing more happens to the post. */
export type PostState = 'received' | 'held' | 'accepted' | 'delivering' | 'delivered' | 'rejected' | 'discarded' | 'expired' | 'failed';

export interface DeliveryCounts {
  total: number;
  sent: number;
  failed: number;
  pending: number;
}

export interface PostStatus {
  workflowId: string;
  state: PostState;
  list: string;
  sender: string | null;
  envelopeFrom: string;
  subject: string;
  messageId: string;
  receivedAt: string;
  size: number;
  decision: {
    action: string | null;
    summary: string;
    hits: RuleHit[];
    misses: string[];
    /** Who decided after a hold, how, and when. */
    moderation?: { action: 'approve' | 'reject' | 'discard' | 'expire'; by: string; reason: string; at: string; edited?: EditedApproval };
    /** Moderators' `defer` notes while the post stayed held, oldest first. */
    notes?: ModeratorNote[];
  };
  heldUntil: string | null;
  seq: number | null;
  delivery: DeliveryCounts;
  deliveryRounds: number;
  nextRetryAt: string | null;
  /** What became of each notice this post caused (moderators, poster). */
  notices: string[];
  /** SPF, DKIM, DMARC and ARC results; null until verified, or when this post was not verified. */
  auth?: AuthSummary | null;
  /** The DMARC mitigation members' copies got (munge_from / wrap_message and why); absent when none. */
  dmarcMitigation?: string;
  /** state `failed`: why, in one line (e.g. "MessageMissing: message … is not in the store (classifyPost)"). */
  failure?: string;
  updatedAt: string;
}

export interface ModerationDecision {
  action: 'approve' | 'reject' | 'discard' | 'defer';
  reason?: string;
  /** Who decided; recorded in the status. */
  by?: string;
  /** defer: the note kept with the post. */
  note?: string;
  /** approve: deliver this stored message (its SHA-256 in the message store) instead of the original. */
  editedSha256?: string;
}

/** A `defer`: the post stays held, its timer unchanged; who said what, and when. */
export interface ModeratorNote {
  note: string;
  by: string;
  at: string;
}

/** An approval of a corrected version: both messages stay in the store, by hash. */
export interface EditedApproval {
  by: string;
  originalSha256: string;
  editedSha256: string;
  /** The edited message's subject, as members receive it. */
  subject: string;
}

export const statusQuery = defineQuery<PostStatus>('status');
export const approveSignal = defineSignal<[{ by?: string; editedSha256?: string }?]>('approve');
export const rejectSignal = defineSignal<[{ reason?: string; by?: string }?]>('reject');
export const discardSignal = defineSignal<[{ by?: string }?]>('discard');
/** Keeps the post held (timer unchanged) and records the note. */
export const deferSignal = defineSignal<[{ note?: string; by?: string }?]>('defer');
/** Like the signals, but answers: the new state, or an error when the post is no longer held. */
export const moderateUpdate = defineUpdate<PostStatus, [ModerationDecision]>('moderate');

/** Status of the other kinds of workflow (requests, -owner mail, bounces). */
export interface MailStatus {
  workflowId: string;
  kind: string;
  /** Each kind's own states, and `failed` (detail: why) when a step failed for good and the owners were told. */
  state: string;
  list: string;
  sender: string | null;
  subject: string;
  messageId: string;
  receivedAt: string;
  detail: string;
  updatedAt: string;
  /** -request/-join/-leave mail: each command read and what became of it, in order, as it runs. */
  commands?: CommandResult[];
}

/** What one email command did, as the sender is told (the reply quotes `line`, then `lines`). */
export interface CommandResult {
  /** The command line as written, cleaned of control characters and shortened. */
  line: string;
  /** done: carried out or started (a request may still wait for its confirmation); pending: an earlier request still waits; refused: not done, see lines; running: not finished yet. */
  outcome: 'done' | 'pending' | 'refused' | 'running';
  lines: string[];
}
export const mailStatusQuery = defineQuery<MailStatus>('status');

export const ListflowList = defineSearchAttributeKey('ListflowList', SearchAttributeType.KEYWORD);
export const ListflowState = defineSearchAttributeKey('ListflowState', SearchAttributeType.KEYWORD);
export const ListflowSender = defineSearchAttributeKey('ListflowSender', SearchAttributeType.KEYWORD);
export const ListflowKind = defineSearchAttributeKey('ListflowKind', SearchAttributeType.KEYWORD);
export const SEARCH_ATTRIBUTES = [ListflowList, ListflowState, ListflowSender, ListflowKind];

/** What ingress hands every workflow it starts: references only, never the message. */
export interface InboundMail {
  list: string;
  /** SHA-256 of the raw bytes as received (the message store key). */
  sha256: string;
  envelopeFrom: string;
  rcptTo: string;
  /** The +detail of bounces+VERP and confirm+TOKEN addresses. */
  detail?: string;
  receivedAt: string;
  /** The SMTP client's IP address and HELO name, for SPF (absent in mail from before they were recorded). */
  clientIp?: string;
  helo?: string;
}

export type MailKind = 'post' | 'request' | 'owner' | 'bounce' | 'confirm';

/** Search attributes a workflow starts with, so it can be found from the moment ingress answers 250. */
export function initialAttributes(list: string, kind: MailKind, sender: string) {
  return [
    { key: ListflowList, value: list },
    { key: ListflowKind, value: kind },
    { key: ListflowState, value: 'received' },
    { key: ListflowSender, value: sender.toLowerCase() },
  ];
}

/** A list's daily reminder of held posts: one workflow per list, while any post waits. */
export function remindersWorkflowId(list: string): string {
  return `reminders/${list}`;
}

export interface RemindersInput {
  list: string;
  deliveryTaskQueue: string;
  /** Posts already waiting (carried over by continue-as-new). */
  waiting: WaitingPost[];
  remindersSent?: number;
  /** When the next reminder is due (kept across continue-as-new). */
  nextReminderAt?: string;
  /** History length that makes it continue as new (default 2,000; tests set it low). */
  maxHistory?: number;
}

export interface RemindersStatus {
  list: string;
  waiting: WaitingPost[];
  remindersSent: number;
  lastReminder: string | null;
  nextReminderAt: string | null;
}

/** A post was held: remind the moderators of it until it is decided. */
export const heldPostSignal = defineSignal<[WaitingPost]>('held');
/** A held post was decided or expired. */
export const decidedPostSignal = defineSignal<[{ workflowId: string }]>('decided');
export const remindersQuery = defineQuery<RemindersStatus>('status');

/** A list's digest: one workflow per list while it has digest members. */
export function digestWorkflowId(list: string): string {
  return `digest/${list}`;
}

/** An accepted post, as the digest knows it: a reference to the decorated message, never its bytes. */
export interface DigestPostRef {
  workflowId: string;
  seq: number;
  /** SHA-256 of the decorated message in the message store (what regular members got). */
  sha256: string;
  subject: string;
  author: string | null;
  size: number;
  acceptedAt: string;
}

export interface DigestNumbering {
  volume: number;
  number: number;
  /** Which calendar span the volume belongs to (see mail/digest-schedule.ts). */
  key: string;
}

export interface DigestInput {
  list: string;
  deliveryTaskQueue: string;
  /** Posts not sent yet (carried over by continue-as-new). */
  pending: DigestPostRef[];
  /** The last issue sent; undefined: ask the database (a fresh start), null: the list never had one. */
  last?: DigestNumbering | null;
  /** When the running period ends (kept across continue-as-new). */
  periodEndsAt?: string;
  issuesSent?: number;
  lastIssue?: string | null;
}

export interface DigestStatus {
  list: string;
  pending: { workflowId: string; seq: number; subject: string; author: string | null; size: number }[];
  /** Bytes of the pending posts, against `thresholdBytes` (0: no size trigger). */
  size: number;
  thresholdBytes: number;
  period: string;
  nextSendAt: string | null;
  last: DigestNumbering | null;
  issuesSent: number;
  lastIssue: string | null;
}

export interface DigestSendResult {
  sent: boolean;
  detail: string;
  volume?: number;
  number?: number;
  posts?: number;
}

/** An accepted post for the next issue. */
export const digestPostSignal = defineSignal<[DigestPostRef]>('post');
/** Send an issue now, whatever the size or the time; answers what was sent, or "nothing to send". */
export const sendNowUpdate = defineUpdate<DigestSendResult, []>('sendNow');
export const digestStatusQuery = defineQuery<DigestStatus>('status');

// ---- Subscriptions (issue 5): one workflow per list and address, `subscription/<list>/<address>` ----

export type SubscriptionAction = 'subscribe' | 'unsubscribe';
/** How a request came: a mail command, the web (confirm link / API), the CLI, a one-click link. */
export type RequestVia = 'mail' | 'web' | 'cli' | 'one-click';
export type MemberDeliveryMode = 'regular' | 'mime_digest' | 'plain_digest';

export interface SubscriptionRequest {
  list: string;
  /** The address to subscribe or unsubscribe, validated (mail/address.ts normalizeAddress). */
  address: string;
  action: SubscriptionAction;
  /** subscribe: regular copies or a digest (the `digest`/`nodigest` of the command). */
  deliveryMode?: MemberDeliveryMode;
  displayName?: string;
  via: RequestVia;
  /** Who asked (the mail's sender, `cli`, `web`); may differ from `address`, which is why it must confirm. */
  requestedBy: string;
  /** The address has already shown it is theirs (a one-click token) or an owner acts: no confirmation step. */
  preConfirmed?: boolean;
  /** An owner's request: no moderator approval step. */
  preApproved?: boolean;
  /** Send the welcome/goodbye message (default: the list's send_welcome_message / send_goodbye_message). */
  notify?: boolean;
  requestedAt: string;
  /** one-click: the web handler already removed this membership (its VERP token) and recorded it; the workflow says goodbye. */
  removedVerpToken?: string;
}

/** What requestSubscription (a core activity) did with a request; `detail` is one line for the requester. */
export interface SubscriptionRequestOutcome {
  /** started: a workflow now runs for it; pending: one already did (nothing new sent); refused: not started, see detail. */
  outcome: 'started' | 'pending' | 'refused';
  detail: string;
  /**
   * The workflow; null when refused, and also with 'started' when a third party asked about an address whose
   * membership the list's private roster must not reveal: answered as if started, nothing sent.
   */
  workflowId: string | null;
}

export function subscriptionWorkflowId(list: string, address: string): string {
  return `subscription/${list.toLowerCase()}/${address.trim().toLowerCase()}`;
}

// ---- Bounces (issue 5): one entity workflow per list and member, `bouncer/<list>/<address>` ----

/** The task queue of bounce and bouncer workflows, beside the core one (`listflow` → `listflow-bounces`). */
export function bounceTaskQueueOf(taskQueue: string): string {
  return `${taskQueue}-bounces`;
}

export function bouncerWorkflowId(list: string, address: string): string {
  return `bouncer/${list.toLowerCase()}/${address.trim().toLowerCase()}`;
}

/** Delivery turned back on by the member (a re-enable token by mail or link) or an owner: cancels the countdown. */
export const reenableSignal = defineSignal<[{ by: string }]>('reenable');

// ---- Subscription workflows: status, confirmation and moderation (the same names as posts) ----

export type SubscriptionState =
  | 'received'
  | 'awaiting_confirmation'
  | 'awaiting_approval'
  | 'completed'
  | 'rejected'
  | 'discarded'
  | 'expired'
  | 'refused';

export interface SubscriptionStatus {
  workflowId: string;
  /** The pending request's id (16 hex digits): the `ref` of its confirmation token. */
  requestId: string;
  kind: 'subscription';
  state: SubscriptionState;
  list: string;
  address: string;
  action: SubscriptionAction;
  via: RequestVia;
  requestedBy: string;
  requestedAt: string;
  /** The list's policy for this action when the request came. */
  policy: string;
  deliveryMode: MemberDeliveryMode;
  /** When the current wait (confirmation or approval) ends; null when nothing waits. */
  expiresAt: string | null;
  confirmed: { by: string; via: string; at: string } | null;
  moderation: { action: 'approve' | 'reject' | 'discard' | 'expire'; by: string; reason: string; at: string } | null;
  /** One line: what happened, for `listflow status` and the requester. */
  detail: string;
  /** What became of each message this request caused (confirmation, moderators, welcome/goodbye). */
  notices: string[];
  updatedAt: string;
}

/** The address proved it is theirs (a confirmation token): answers the new status, or an error when nothing awaits confirmation. */
export interface SubscriptionConfirmation {
  requestId: string;
  by: string;
  via: string;
}
export const subscriptionStatusQuery = defineQuery<SubscriptionStatus>('status');
export const confirmSubscriptionUpdate = defineUpdate<SubscriptionStatus, [SubscriptionConfirmation]>('confirm');
/** `moderate` on a subscription request: approve / reject {reason} / discard while it awaits a moderator. */
export const moderateSubscriptionUpdate = defineUpdate<SubscriptionStatus, [ModerationDecision]>('moderate');

export interface SubscriptionOptions {
  deliveryTaskQueue: string;
}

/** Welcome and goodbye messages owed to members added or removed in bulk (by the CLI): one workflow per list. */
export function memberNoticesWorkflowId(list: string): string {
  return `member-notices/${list.toLowerCase()}`;
}
/** More are owed: wakes the list's member-notices workflow (signal-with-start). */
export const memberNoticesSignal = defineSignal<[]>('more');
/** The settings a bouncer acts on (read afresh for each bounce and action). */
export interface BouncerSettings {
  processBounces: boolean;
  threshold: number;
  temporaryScore: number;
  staleAfterDays: number;
  warnings: number;
  warningIntervalDays: number;
  notifyOwnerOnDisable: boolean;
  notifyOwnerOnRemoval: boolean;
}

/** The list's bounce settings and the member as they stand; null member: gone. */
export interface BouncerContext {
  settings: BouncerSettings | null;
  member: { address: string; verpToken: string; deliveryStatus: string } | null;
}

/** One bounce for the member's bouncer: an inbound report, or a refusal during delivery. */
export interface BounceSignal {
  /** When it was seen (for display; the bouncer counts days by its own clock). */
  at: string;
  permanent: boolean;
  reason: string;
  /** inbound: mail to -bounces; delivery: a 5xx during fan-out (posts and digests). */
  source: 'inbound' | 'delivery';
  /** What it came from (the bounce workflow, or the post/digest that was refused): a repeat with the same id is ignored. */
  id: string;
  status?: string | null;
  method?: string;
  /** The settings and member as the sender just read them, which saves the bouncer reading them again (a storm of bounces). */
  context?: BouncerContext;
}

export const bounceSignal = defineSignal<[BounceSignal]>('bounce');

export type BouncerState = 'scoring' | 'disabled' | 'removed' | 'ended';

export interface BouncerEvent {
  at: string;
  permanent: boolean;
  reason: string;
  source: string;
  id: string;
  status: string | null;
  /** What it did: the score it added, or why it added nothing. */
  effect: string;
}

export interface BouncerStatus {
  list: string;
  address: string;
  state: BouncerState;
  score: number;
  threshold: number;
  lastBounceAt: string | null;
  disabledAt: string | null;
  warningsSent: number;
  warningsTotal: number;
  nextAction: 'warning' | 'removal' | 'reset' | null;
  nextActionAt: string | null;
  /** The most recent bounces and re-enables, oldest first (bounded). */
  events: BouncerEvent[];
  /** Why it ended, when it did. */
  detail: string;
  updatedAt: string;
}

export const bouncerStatusQuery = defineQuery<BouncerStatus>('status');

/** Refusals for policy reasons (5.7.x, DMARC, spam blocks): the owners get one summary a day per list, not one mail each. */
export function policyNoticeWorkflowId(list: string): string {
  return `bounce-policy/${list.toLowerCase()}`;
}

export interface PolicyRefusal {
  address: string;
  domain: string;
  status: string | null;
  reason: string;
  at: string;
}

export const policyRefusalSignal = defineSignal<[PolicyRefusal]>('policy');

export interface PolicyNoticeStatus {
  list: string;
  pending: number;
  domains: { domain: string; count: number; reasons: string[]; addresses: string[]; first: string; last: string }[];
  lastNoticeAt: string | null;
  nextNoticeAt: string | null;
  lastResult: string;
}

export const policyNoticeQuery = defineQuery<PolicyNoticeStatus>('status');
