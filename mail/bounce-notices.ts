// The text of bounce processing's mail: a member's delivery disabled, the warnings before removal, the removal,
// the owners' notices, and unrecognised mail to -bounces forwarded with the reason.
import { listSubAddress } from './address.js';
import { clean } from './message.js';
import type { Notice } from './notices.js';

const safe = (text: string | null | undefined, max = 300): string => clean(text ?? '', max);

/** A recent bounce as the notices list it. */
export interface BounceLine {
  at: string;
  reason: string;
  status: string | null;
}

function bounceLines(events: BounceLine[]): string[] {
  if (events.length === 0) return ['  (none recorded)'];
  return events.slice(-5).map((e) => `  - ${e.at.slice(0, 10)}: ${e.status ? `${safe(e.status, 20)} ` : ''}${safe(e.reason, 200)}`);
}

export interface ReenableWays {
  /** <list>-confirm+<token>@domain: any reply re-enables delivery. */
  address: string;
  /** <publicUrl>/c/<list>/<token>: a page with a button. */
  url: string;
}

export interface DisabledNotice {
  list: string;
  address: string;
  score: number;
  events: BounceLine[];
  /** Which warning this is (1 = the notice at disable time) and how many there are before removal. */
  warning: number;
  warnings: number;
  removalAt: string;
  reenable: ReenableWays;
}

function reenableLines(n: DisabledNotice): string[] {
  return [
    `To start receiving the list's mail again, do one of these before`,
    `${n.removalAt.slice(0, 10)}:`,
    ``,
    `  - reply to this message, or send any message to`,
    `      ${n.reenable.address}`,
    `  - open ${n.reenable.url}`,
    `    and press the button there`,
    ``,
    `If nothing is done, you will be removed from the list on ${n.removalAt.slice(0, 10)}.`,
    `Questions go to the list owners: ${listSubAddress(n.list, 'owner')}`,
  ];
}

/** To the member, at disable time (the first warning). */
export function memberDisabled(n: DisabledNotice): Notice {
  return {
    subject: `Your delivery from ${n.list} is disabled (bounces)`,
    text: [
      `Mail from ${n.list} to ${safe(n.address)} has been bouncing, so delivery`,
      `to you is disabled. Your membership is not cancelled yet.`,
      ``,
      `Recent bounces:`,
      ...bounceLines(n.events),
      ``,
      ...reenableLines(n),
      ``,
      `(Warning ${n.warning} of ${n.warnings}.)`,
    ].join('\n'),
  };
}

/** To the member, the later warnings while delivery stays disabled. */
export function memberWarning(n: DisabledNotice): Notice {
  return {
    subject: `Your membership of ${n.list} will end on ${n.removalAt.slice(0, 10)} (warning ${n.warning} of ${n.warnings})`,
    text: [
      `Delivery of ${n.list} to ${safe(n.address)} is still disabled because`,
      `mail to you was bouncing.`,
      ``,
      ...reenableLines(n),
      ``,
      `(Warning ${n.warning} of ${n.warnings}.)`,
    ].join('\n'),
  };
}

export function memberRemoved(list: string, address: string): Notice {
  return {
    subject: `You have been removed from ${list} (bounces)`,
    text: [
      `Mail from ${list} to ${safe(address)} kept bouncing and delivery stayed`,
      `disabled, so ${safe(address)} has been removed from the list.`,
      ``,
      `You can subscribe again at any time by writing to ${listSubAddress(list, 'join')}.`,
      `Questions go to the list owners: ${listSubAddress(list, 'owner')}`,
    ].join('\n'),
  };
}

export function ownerDisabled(list: string, address: string, score: number, events: BounceLine[], warnings: number, removalAt: string): Notice {
  return {
    subject: safe(`${list}: delivery to ${address} disabled (bounce score ${score})`, 250),
    text: [
      `Delivery of ${list} to ${safe(address)} has been disabled: its bounce score`,
      `reached ${score}.`,
      ``,
      `Recent bounces:`,
      ...bounceLines(events),
      ``,
      warnings > 0
        ? `The member gets ${warnings} warning(s) and is removed on ${removalAt.slice(0, 10)} unless`
        : `The member is removed now (the list sends no warnings).`,
      ...(warnings > 0 ? [`delivery is turned back on before then.`] : []),
      ``,
      `  listflow bounces show ${list} ${safe(address)}`,
      `  listflow bounces reenable ${list} ${safe(address)}`,
    ].join('\n'),
  };
}

export function ownerRemoved(list: string, address: string, events: BounceLine[]): Notice {
  return {
    subject: safe(`${list}: ${address} removed (bounces)`, 250),
    text: [
      `${safe(address)} has been removed from ${list}: delivery was disabled by`,
      `bounces and was not turned back on after the warnings.`,
      ``,
      `Recent bounces:`,
      ...bounceLines(events),
      ``,
      `  listflow members unsubscribed ${list}`,
    ].join('\n'),
  };
}

export interface PolicyDomain {
  domain: string;
  count: number;
  /** A few distinct reasons given, with their status codes. */
  reasons: string[];
  addresses: string[];
  first: string;
  last: string;
}

/** The daily summary of refusals for policy reasons: the list's problem (DMARC, reputation, content), not the members'. */
export function ownerPolicyRefusals(list: string, domains: PolicyDomain[], total: number): Notice {
  const lines = [
    `Some receiving servers refused mail from ${list} for policy reasons`,
    `(RFC 3463 5.7.x, DMARC, spam filtering or reputation). These refusals do not`,
    `count against the members: they usually mean the list's mail (its DKIM`,
    `signature, DMARC alignment, sending IP or content) is being refused.`,
    ``,
    `${total} refusal(s) since the last summary, by domain:`,
    ``,
  ];
  for (const d of domains) {
    const span = d.first ? `, ${d.first.slice(0, 16).replace('T', ' ')} to ${d.last.slice(0, 16).replace('T', ' ')} UTC` : '';
    lines.push(`${safe(d.domain, 100)}: ${d.count} refusal(s)${span}`);
    for (const r of d.reasons) lines.push(`    ${safe(r, 300)}`);
    if (d.addresses.length > 0) lines.push(`    e.g. ${d.addresses.map((a) => safe(a, 100)).join(', ')}`);
    lines.push(``);
  }
  lines.push(`You get at most one of these summaries a day for this list.`);
  return { subject: safe(`${list}: mail refused for policy reasons by ${domains.length} domain(s)`, 250), text: lines.join('\n') };
}

/** Mail to -bounces that bounce processing could not use: the owners get it attached, with the reason. */
export function ownerUnrecognised(list: string, why: string, workflowId: string): Notice {
  return {
    subject: safe(`${list}: uncaught bounce notification`, 250),
    text: [
      `The attached message was sent to ${listSubAddress(list, 'bounces')} and bounce processing`,
      `did not act on it:`,
      ``,
      `  ${safe(why, 1000)}`,
      ``,
      `It is attached as received. Reference: ${safe(workflowId, 400)}`,
    ].join('\n'),
  };
}
