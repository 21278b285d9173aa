// Signals, updates, queries and search attributes of listflow's workflows: the names operators and scripts use.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { RuleHit } from '../mail/chain.js';
import type { WaitingPost } from '../mail/notices.js';

export type PostState = 'received' | 'held' | 'accepted' | 'delivering' | 'delivered' | 'rejected' | 'discarded' | 'expired';

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
    moderation?: { action: 'approve' | 'reject' | 'discard' | 'expire'; by: string; reason: string; at: string };
  };
  heldUntil: string | null;
  seq: number | null;
  delivery: DeliveryCounts;
  deliveryRounds: number;
  nextRetryAt: string | null;
  /** What became of each notice this post caused (moderators, poster). */
  notices: string[];
  updatedAt: string;
}

export interface ModerationDecision {
  action: 'approve' | 'reject' | 'discard';
  reason?: string;
  /** Who decided; recorded in the status. */
  by?: string;
}

export const statusQuery = defineQuery<PostStatus>('status');
export const approveSignal = defineSignal<[{ by?: string }?]>('approve');
export const rejectSignal = defineSignal<[{ reason?: string; by?: string }?]>('reject');
export const discardSignal = defineSignal<[{ by?: string }?]>('discard');
/** Like the signals, but answers: the new state, or an error when the post is no longer held. */
export const moderateUpdate = defineUpdate<PostStatus, [ModerationDecision]>('moderate');

/** Status of the other kinds of workflow (requests, -owner mail, bounces). */
export interface MailStatus {
  workflowId: string;
  kind: string;
  state: string;
  list: string;
  sender: string | null;
  subject: string;
  messageId: string;
  receivedAt: string;
  detail: string;
  updatedAt: string;
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
