// The text of subscription mail: confirmation requests, moderators' notices, welcome and goodbye messages.
import { listSubAddress } from './address.js';
import { renderTemplate } from './decoration/context.js';
import { clean } from './message.js';
import { decideLines, type Notice } from './notices.js';
import type { ListSettings } from './settings.js';

export type SubscriptionVerb = 'subscribe' | 'unsubscribe';

const safe = (text: string | null | undefined, max = 300): string => clean(text ?? '', max);

/** Where a pending request's token can be used: a reply, the command, the web page. */
export interface ConfirmWays {
  token: string;
  /** <list>-confirm+<token>@domain */
  address: string;
  /** <public url>/c/<list>/<token> */
  url: string;
}

export interface ConfirmationNeeded {
  list: string;
  displayName: string;
  address: string;
  action: SubscriptionVerb;
  requestedBy: string;
  via: string;
  confirm: ConfirmWays;
  expiresAt: string;
  days: number;
  /** A moderator must approve after the confirmation (confirm_then_moderate). */
  thenModerated: boolean;
}

/** How a request came, as the confirmation mail says it. */
const VIA_WORDS: Record<string, string> = { mail: 'by mail', web: 'on the web', cli: 'from a list owner', 'one-click': 'by a one-click link' };

/** To the address being (un)subscribed: it alone can confirm, so nobody is (un)subscribed by someone else's word. */
export function confirmationNeeded(c: ConfirmationNeeded): Notice {
  const joining = c.action === 'subscribe';
  const how = VIA_WORDS[c.via] ?? safe(c.via, 20);
  const other = c.requestedBy && c.requestedBy.toLowerCase() !== c.address.toLowerCase();
  const who = c.via === 'cli' ? ` ${how} (${safe(c.requestedBy)})` : other ? ` from ${safe(c.requestedBy)} ${how}` : ` ${how}`;
  return {
    subject: safe(`Your confirmation is needed to ${joining ? 'join' : 'leave'} the ${c.displayName} mailing list`, 250),
    text: [
      `We have received a request${who} to ${joining ? 'subscribe' : 'unsubscribe'}`,
      `the address ${safe(c.address)} ${joining ? 'to' : 'from'} the ${safe(c.displayName)} mailing list (${c.list}).`,
      ``,
      `To confirm it, do any one of these:`,
      ``,
      `  - reply to this message, or send any message to`,
      `      ${c.confirm.address}`,
      `  - open this link and press the Confirm button:`,
      `      ${c.confirm.url}`,
      `  - send a message to ${listSubAddress(c.list, 'request')} with this line:`,
      `      confirm ${c.confirm.token}`,
      ``,
      ...(c.thenModerated && joining ? [`After you confirm, a list moderator will review the request.`, ``] : []),
      `If you do not want this, ignore this message: nothing happens, and the request`,
      `expires in ${c.days} day(s) (${c.expiresAt}).`,
      ``,
      `Questions go to the list owners: ${listSubAddress(c.list, 'owner')}`,
    ].join('\n'),
  };
}

export interface ApprovalNeeded {
  list: string;
  address: string;
  action: SubscriptionVerb;
  requestedBy: string;
  via: string;
  workflowId: string;
  expiresAt: string;
  days: number;
}

/** One notice per request to the moderators (owners if none): who, how it came, how to decide. */
export function approvalNeeded(a: ApprovalNeeded): Notice {
  const id = safe(a.workflowId, 400);
  const verb = a.action === 'subscribe' ? 'subscription' : 'unsubscription';
  return {
    subject: safe(`${a.list}: ${verb} request from ${a.address} awaits approval`, 250),
    text: [
      `A ${verb} request for ${a.list} waits for a moderator's approval.`,
      ``,
      `  Address:   ${safe(a.address)}`,
      `  Asked by:  ${safe(a.requestedBy)} (${safe(a.via, 20)})`,
      `  Waits:     until ${a.expiresAt} (${a.days} day(s)); then it expires`,
      `  ID:        ${id}`,
      ``,
      ...decideLines(id, `listflow requests ${a.list}`),
    ].join('\n'),
  };
}

/** To the address, when a moderator rejected its request (a discard tells nobody, as for posts). */
export function requestRejected(list: string, address: string, action: SubscriptionVerb, reason: string): Notice {
  const verb = action === 'subscribe' ? 'subscription to' : 'unsubscription from';
  return {
    subject: safe(`Your ${verb} ${list} was rejected`, 250),
    text: [
      `The request for the ${verb} ${list} of ${safe(address)}`,
      `was rejected by a list moderator.`,
      ``,
      `Reason: ${safe(reason, 1000) || 'no reason was given'}`,
      ``,
      `Questions go to the list owners: ${listSubAddress(list, 'owner')}`,
    ].join('\n'),
  };
}

export interface MemberMessage {
  list: string;
  displayName: string;
  settings: ListSettings;
  address: string;
  /** The member's one-click unsubscription link (welcome only; a goodbye has none to give). */
  unsubscribeUrl: string | null;
  publicUrl: string;
}

function custom(template: string, m: MemberMessage): string {
  return renderTemplate(template, { list: m.list, displayName: m.displayName, settings: m.settings, seq: 0, publicUrl: m.publicUrl }, {
    address: m.address,
    unsubscribeUrl: m.unsubscribeUrl ?? `mailto:${listSubAddress(m.list, 'leave')}`,
  });
}

/** The welcome: the list's welcome_message when set, else a standard text with how to post and how to leave. */
export function welcomeMessage(m: MemberMessage): Notice {
  const subject = safe(`Welcome to the "${m.displayName}" mailing list`, 250);
  const leave = listSubAddress(m.list, 'leave');
  const howToLeave = [
    `To leave the list:`,
    ...(m.unsubscribeUrl ? [`  - open ${m.unsubscribeUrl}`] : []),
    `  - or send any message to ${leave}`,
    `  - or send "unsubscribe" to ${listSubAddress(m.list, 'request')}`,
  ];
  if (m.settings.welcome_message) {
    return { subject, text: [custom(m.settings.welcome_message, m), ``, `-- `, ...howToLeave].join('\n') };
  }
  return {
    subject,
    text: [
      `Welcome to the ${safe(m.displayName)} mailing list${m.settings.description ? `: ${safe(m.settings.description, 1000)}` : ''}.`,
      ``,
      `${safe(m.address)} is now subscribed to ${m.list}.`,
      ``,
      `To post to the list, write to ${m.list}.`,
      `For help, send "help" to ${listSubAddress(m.list, 'request')}.`,
      `The list owners can be reached at ${listSubAddress(m.list, 'owner')}.`,
      ``,
      ...howToLeave,
    ].join('\n'),
  };
}

/** The goodbye: the list's goodbye_message when set, else a standard text with how to come back. */
export function goodbyeMessage(m: MemberMessage): Notice {
  const subject = safe(`You have left the "${m.displayName}" mailing list`, 250);
  const join = `To subscribe again, send any message to ${listSubAddress(m.list, 'join')}.`;
  if (m.settings.goodbye_message) return { subject, text: [custom(m.settings.goodbye_message, m), ``, `-- `, join].join('\n') };
  return {
    subject,
    text: [
      `${safe(m.address)} has been unsubscribed from the ${safe(m.displayName)} mailing list (${m.list})`,
      `and will get no more mail from it.`,
      ``,
      join,
      `The list owners can be reached at ${listSubAddress(m.list, 'owner')}.`,
    ].join('\n'),
  };
}

/** The confirm link of a token: `<public url>/c/<list>/<token>` (GET shows a button, POST confirms). */
export function confirmUrl(publicUrl: string, list: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/c/${encodeURIComponent(list.toLowerCase())}/${token}`;
}
