// The text of the mail listflow writes itself: notices to posters, moderators and requesters.
import { listSubAddress } from './address.js';

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
  return subject ? `"${subject}"` : '(no subject)';
}

export function heldForPoster(p: PostRef, reason: string, days: number): Notice {
  return {
    subject: `Your post to ${p.list} awaits moderator approval`,
    text: [
      `Your message to ${p.list} with the subject ${quoteSubject(p.subject)}`,
      `is being held until a list moderator can review it.`,
      ``,
      `Reason: ${reason}`,
      ``,
      `Either the message will be posted to the list, or you will receive a`,
      `notice of the moderator's decision. If nobody acts on it within ${days} day(s),`,
      `it expires.`,
      ``,
      `Reference: ${p.workflowId}`,
    ].join('\n'),
  };
}

export function heldForModerators(p: PostRef, reason: string, days: number): Notice {
  return {
    subject: `${p.list}: post from ${p.sender ?? 'unknown sender'} awaits approval`,
    text: [
      `A post to ${p.list} is held for moderation.`,
      ``,
      `  From:    ${p.sender ?? '(none)'}`,
      `  Subject: ${p.subject || '(none)'}`,
      `  Reason:  ${reason}`,
      ``,
      `It waits ${days} day(s) for a decision. To decide, run one of:`,
      ``,
      `  listflow approve ${p.workflowId}`,
      `  listflow reject ${p.workflowId} --reason "..."`,
      `  listflow discard ${p.workflowId}`,
      ``,
      `or with the temporal CLI:`,
      ``,
      `  temporal workflow signal --workflow-id '${p.workflowId}' --name approve`,
    ].join('\n'),
  };
}

export function rejectedForPoster(p: PostRef, reason: string): Notice {
  return {
    subject: `Your post to ${p.list} was rejected`,
    text: [
      `Your message to ${p.list} with the subject ${quoteSubject(p.subject)}`,
      `was rejected and will not be distributed.`,
      ``,
      `Reason: ${reason || 'no reason was given'}`,
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
      `Commands by mail to ${request} (subscribe, unsubscribe and the rest)`,
      `are not taken by this server yet; your message has been kept and the`,
      `list owners can see it. Until then, ask the owners to add or remove you.`,
    ].join('\n'),
  };
}
