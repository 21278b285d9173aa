// The text of the mail listflow writes itself: notices to posters, moderators and requesters.
import { listSubAddress } from './address.js';
import type { RuleHit } from './chain.js';
import { clean } from './message.js';

export interface Notice {
  subject: string;
  text: string;
}

export interface PostRef {
  list: string;
  workflowId: string;
  subject: string;
  sender: string | null;
}

function quoteSubject(subject: string): string {
  return subject ? `"${clean(subject)}"` : '(no subject)';
}

/** Everything a sender controls (subjects, addresses, reasons) goes through this before it is written into mail. */
const safe = (text: string | null | undefined, max = 300): string => clean(text ?? '', max);

/** The three -confirm+TOKEN addresses of one held post. */
export interface ConfirmAddresses {
  approve: string;
  reject: string;
  discard: string;
}

function reasonLines(hits: RuleHit[], fallback: string): string[] {
  if (hits.length === 0) return [`  - ${safe(fallback, 1000)}`];
  return hits.map((h) => `  - ${safe(h.rule, 60)} (${safe(h.action, 20)}): ${safe(h.reason, 1000)}`);
}

function actLines(workflowId: string, confirm: ConfirmAddresses | null): string[] {
  const id = safe(workflowId, 400);
  return [
    ...(confirm
      ? [
          `To decide by mail, write to one of these addresses (quoting this notice is`,
          `fine). The subject or the first line of the body may say "approve",`,
          `"reject <reason for the poster>" or "discard"; it must agree with the`,
          `address, or nothing is done and you are told why.`,
          ``,
          `  approve:  ${confirm.approve}`,
          `  reject:   ${confirm.reject}`,
          `  discard:  ${confirm.discard}`,
          ``,
          `Each address works once, only from a moderator or owner of the list, and`,
          `only while the post is held.`,
          ``,
        ]
      : []),
    ...decideLines(id),
  ];
}

/** How a moderator decides a held post or a pending request from a shell: listflow's CLI, or Temporal's. */
export function decideLines(id: string, listLine?: string): string[] {
  return [
    `With the listflow command:`,
    ``,
    ...(listLine ? [`  ${listLine}`] : []),
    `  listflow approve ${id}`,
    `  listflow reject ${id} --reason "..."`,
    `  listflow discard ${id}`,
    ``,
    `With the temporal CLI:`,
    ``,
    `  temporal workflow update execute --workflow-id '${id}' --name moderate --input '{"action":"approve"}'`,
  ];
}

export function heldForPoster(p: PostRef, reason: string, days: number): Notice {
  return {
    subject: `Your post to ${p.list} awaits moderator approval`,
    text: [
      `Your message to ${p.list} with the subject ${quoteSubject(p.subject)}`,
      `is being held until a list moderator can review it.`,
      ``,
      `Reason: ${safe(reason, 1000)}`,
      ``,
      `Either the message will be posted to the list, or you will receive a`,
      `notice of the moderator's decision. If nobody acts on it within ${days} day(s),`,
      `it expires.`,
      ``,
      `Reference: ${p.workflowId}`,
    ].join('\n'),
  };
}

export interface HeldForModerators {
  post: PostRef;
  /** Every rule that hit, with its action and reason; the summary stands in when there are none. */
  hits: RuleHit[];
  summary: string;
  days: number;
  heldUntil: string;
  confirm: ConfirmAddresses | null;
}

export function heldForModerators(h: HeldForModerators): Notice {
  const p = h.post;
  return {
    subject: safe(`${p.list}: post from ${p.sender ?? 'unknown sender'} awaits approval: ${quoteSubject(p.subject)}`, 250),
    text: [
      `A post to ${p.list} is held for moderation. It is attached.`,
      ``,
      `  From:    ${safe(p.sender) || '(none)'}`,
      `  Subject: ${safe(p.subject) || '(none)'}`,
      `  Held:    until ${h.heldUntil} (${h.days} day(s)); then it expires`,
      `  ID:      ${safe(p.workflowId, 400)}`,
      ``,
      `Why it was held:`,
      ...reasonLines(h.hits, h.summary),
      ``,
      ...actLines(p.workflowId, h.confirm),
    ].join('\n'),
  };
}

export interface WaitingPost {
  workflowId: string;
  sender: string | null;
  subject: string;
  heldAt: string;
  heldUntil: string;
}

function age(fromIso: string, nowMs: number): string {
  const hours = Math.max(0, Math.floor((nowMs - Date.parse(fromIso)) / 3_600_000));
  return hours >= 48 ? `${Math.floor(hours / 24)} days` : `${hours} hours`;
}

/** The daily reminder: every post of the list still waiting, oldest first, and how to act on each. */
export function reminderForModerators(list: string, posts: { post: WaitingPost; confirm: ConfirmAddresses | null }[], nowMs: number): Notice {
  const lines = [`${posts.length} post(s) to ${list} still wait for a moderator:`, ``];
  posts.forEach(({ post, confirm }, i) => {
    lines.push(
      `${i + 1}. From ${safe(post.sender) || '(none)'}, subject ${quoteSubject(post.subject)}`,
      `   waiting ${age(post.heldAt, nowMs)}, expires ${post.heldUntil}`,
      `   ID: ${safe(post.workflowId, 400)}`,
      ...(confirm ? [`   approve: ${confirm.approve}`, `   reject:  ${confirm.reject}`, `   discard: ${confirm.discard}`] : []),
      ``,
    );
  });
  lines.push(
    `Send any message to an address above to act on that post (the subject or first`,
    `line may say "reject <reason>"), or use "listflow held ${list}" and`,
    `"listflow approve|reject|discard <ID>".`,
  );
  return { subject: safe(`${list}: ${posts.length} post(s) await moderation`, 250), text: lines.join('\n') };
}

/** What happened to a moderator's reply to a -confirm address. */
export function confirmReply(list: string, headline: string, details: string[]): Notice {
  return {
    subject: safe(`${list}: ${headline}`, 250),
    text: [safe(headline, 1000), ``, ...details.map((d) => safe(d, 1000)), ``, `This is an automatic reply of ${list} to mail sent to one of its confirmation addresses.`].join('\n'),
  };
}

export function rejectedForPoster(p: PostRef, reason: string, hits: RuleHit[] = []): Notice {
  return {
    subject: `Your post to ${p.list} was rejected`,
    text: [
      `Your message to ${p.list} with the subject ${quoteSubject(p.subject)}`,
      `was rejected and will not be distributed.`,
      ``,
      `Reason: ${safe(reason, 1000) || 'no reason was given'}`,
      ...(hits.length > 0 ? [``, `What the list's rules found:`, ...reasonLines(hits, '')] : []),
      ``,
      `Questions go to the list owners: ${listSubAddress(p.list, 'owner')}`,
      `Reference: ${p.workflowId}`,
    ].join('\n'),
  };
}

export function expiredForPoster(p: PostRef, days: number, action: 'discard' | 'reject'): Notice {
  return {
    subject: `Your post to ${p.list} expired without moderation`,
    text: [
      `Your message to ${p.list} with the subject ${quoteSubject(p.subject)}`,
      `waited ${days} day(s) for a moderator and nobody acted on it, so it was`,
      action === 'reject' ? `rejected. It will not be distributed.` : `discarded. It will not be distributed.`,
      ``,
      `Questions go to the list owners: ${listSubAddress(p.list, 'owner')}`,
      `Reference: ${p.workflowId}`,
    ].join('\n'),
  };
}

/** The reply of requestWorkflow from before email commands: only requests started then still send it. */
export function requestHelp(list: string, displayName: string, description: string): Notice {
  const request = listSubAddress(list, 'request');
  return {
    subject: `Help for the ${displayName} list (${list})`,
    text: [
      `This is the automatic help of the ${displayName} mailing list${description ? `: ${description}` : ''}.`,
      ``,
      `To post to the list, write to ${list}.`,
      `List owners can be reached at ${listSubAddress(list, 'owner')}.`,
      ``,
      `Your message arrived while this server was being upgraded and its commands`,
      `were not run. Please send them again to ${request}; "help" there`,
      `lists the commands (subscribe, unsubscribe, confirm, info, who and more).`,
    ].join('\n'),
  };
}

/** A post, request or bounce whose workflow ended in an error no retry could heal: the owners are told once. */
export function failedForOwners(f: { list: string; workflowId: string; kind: string; reason: string }): Notice {
  return {
    subject: `A ${f.kind} to ${f.list} failed: ${clean(f.reason).slice(0, 80)}`,
    text: [
      `listflow could not finish a ${f.kind} for ${f.list}:`,
      ``,
      `  ${clean(f.reason)}`,
      ``,
      `It was not retried further, and nothing more will happen to it.`,
      `\`listflow failed\` lists such workflows; \`listflow status ${f.workflowId}\``,
      `shows this one.`,
      ``,
      `Reference: ${f.workflowId}`,
    ].join('\n'),
  };
}
