// Bounce parsing: RFC 3464 / RFC 6533 delivery-status reports first, MTA-specific text heuristics for the rest,
// auto-replies recognised so they are not counted. Pure and total: any input gives a report, never an exception.
import libmime from 'libmime';
import { classifyDiagnostic, LIST_PROBLEMS, type BounceCategory } from './bounce-category.js';
import { decodeTransfer, leafParts, leafText, parseValue, partHeaders, type MimeLeaf } from './mime.js';

export { BOUNCE_CATEGORIES, type BounceCategory } from './bounce-category.js';

export type BounceAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';

export interface BounceRecipient {
  address: string;
  action: BounceAction;
  /** RFC 3463 x.y.z, or null when the report gives none. */
  status: string | null;
  permanent: boolean;
  diagnostic: string | null;
  smtpCode: number | null;
  /** Why it failed, read from the diagnostic and status (always set by parseBounce). */
  category?: BounceCategory;
}

/** How the verdict was reached: which kind of report, or what the message is instead of a bounce. */
export type BounceMethod = 'dsn' | 'attached-dsn' | 'heuristic' | 'auto-reply' | 'challenge-response' | 'feedback-report' | 'none';

export interface BounceReport {
  isBounce: boolean;
  kind: 'dsn' | 'heuristic' | 'none';
  recipients: BounceRecipient[];
  reason: string;
  /** Always set by parseBounce. */
  method?: BounceMethod;
}

const ACTIONS = new Set<BounceAction>(['failed', 'delayed', 'delivered', 'relayed', 'expanded']);
// Bounded quantifiers throughout: a scan costs the same whatever junk a hostile body holds.
const ADDRESS = /[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,10}/g;
const ADDRESS_ONE = /[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}\.[A-Za-z0-9.-]{1,200}/;
const DAEMON = /^(mailer-daemon|postmaster|mail-daemon|mailer_daemon|root|noreply|no-reply|bounce[s]?)@/i;

const none = (reason: string, method: BounceMethod = 'none'): BounceReport => ({ isBounce: false, kind: 'none', recipients: [], reason, method });

export function parseBounce(raw: Buffer): BounceReport {
  let report: BounceReport;
  try {
    report = parse(raw);
  } catch (err) {
    return none(`unparseable: ${(err as Error).message}`);
  }
  for (const r of report.recipients) r.category ??= classifyDiagnostic(r.diagnostic, r.status);
  return report;
}

function header(raw: Buffer, name: string): string {
  const { headers } = partHeaders(raw, 0, raw.length);
  const v = headers.getFirst(name);
  try {
    return libmime.decodeWords(v.replace(/\r?\n[ \t]*/g, ' ')).trim();
  } catch {
    return v.trim();
  }
}

function parse(raw: Buffer, depth = 0): BounceReport {
  const leaves = leafParts(raw);
  // RFC 5965 abuse reports (ARF) are complaints about a delivered message, not delivery failures.
  const top = parseValue(partHeaders(raw, 0, raw.length).headers.getFirst('content-type'));
  if (leaves.some((l) => l.contentType === 'message/feedback-report') || (top.value === 'multipart/report' && /^feedback-report$/i.test(top.params['report-type'] ?? '')))
    return none('feedback report (RFC 5965): a complaint about a delivered message, not a delivery failure', 'feedback-report');
  const dsn = fromDsn(raw, leaves);
  if (dsn) return dsn;
  // Some gateways forward the real report as an attached message: look one or two levels in.
  if (depth < 2) {
    for (const leaf of leaves.filter((l) => l.contentType === 'message/rfc822').slice(0, 3)) {
      const inner = decodeTransfer(raw.subarray(leaf.bodyStart, Math.min(leaf.bodyEnd, leaf.bodyStart + 512 * 1024)), leaf.encoding);
      const innerDsn = fromDsn(inner, leafParts(inner));
      if (innerDsn?.isBounce) return { ...innerDsn, reason: `attached ${innerDsn.reason}`, method: 'attached-dsn' };
    }
  }
  const subject = header(raw, 'subject');
  const from = header(raw, 'from');
  const auto = autoReply(raw, subject);
  // Exim and others mark real bounces Auto-Submitted: auto-replied; a bounce-like subject or sender outweighs it.
  if (auto && !(BOUNCE_SUBJECT.test(subject) || /mailer-daemon|postmaster/i.test(from))) return none(auto, auto.startsWith('challenge') ? 'challenge-response' : 'auto-reply');
  return heuristic(raw, leaves, subject, from);
}

/** Why the message is an auto-reply, or null. */
function autoReply(raw: Buffer, subject: string): string | null {
  const as = header(raw, 'auto-submitted').toLowerCase();
  if (as.startsWith('auto-replied')) return 'Auto-Submitted: auto-replied';
  if (header(raw, 'x-autoreply') || header(raw, 'x-autorespond')) return 'X-Autoreply header';
  if (/auto_reply|autoreply/i.test(header(raw, 'precedence'))) return 'Precedence: auto_reply';
  if (/^(auto(matic)?[ -]?(reply|response|antwort)|out of (the )?office|vacation|abwesen|auto:|away from|i am (out|away)|absence)/i.test(subject) || /\b(out of (the )?office|autoreply|auto-reply|vacation)\b/i.test(subject))
    return `auto-reply subject "${subject}"`;
  if (/\b(challenge|verify (that )?you|please confirm your (message|email)|spam ?arrest|boxbe|sender verification)\b/i.test(subject)) return `challenge-response subject "${subject}"`;
  return null;
}

// ---------- RFC 3464 / 6533 ----------

function fields(block: string): Map<string, string> {
  const out = new Map<string, string>();
  const unfolded = block.replace(/\r?\n[ \t]+/g, ' ');
  for (const line of unfolded.split(/\r?\n/)) {
    const m = /^([A-Za-z][A-Za-z0-9-]*)\s*:\s*(.*)$/.exec(line);
    if (m?.[1] && !out.has(m[1].toLowerCase())) out.set(m[1].toLowerCase(), (m[2] ?? '').trim());
  }
  return out;
}

function typedAddress(value: string): string {
  let v = value.replace(/^[A-Za-z0-9-]+\s*;\s*/, '').trim();
  v = v.replace(/^<|>$/g, '').trim();
  if (/^utf-8$/i.test(value.split(';')[0]?.trim() ?? '')) v = v.replace(/\\x\{([0-9A-Fa-f]+)\}/g, (_, h: string) => String.fromCodePoint(parseInt(h, 16)));
  return v;
}

function smtpCodeOf(text: string | null): number | null {
  const m = text ? /\b([245]\d\d)\b/.exec(text) : null;
  return m?.[1] ? Number(m[1]) : null;
}

function statusOf(text: string | null): string | null {
  const m = text ? /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(text) : null;
  return m?.[1] ?? null;
}

const CHALLENGE = /(requires confirmation|confirm (this|your) (mail|message|e-?mail)|verify (yourself|your (address|email|identity))|challenge|boxbe)/i;

/**
 * The delivery-status fields: the RFC 3464 part, or (from gateways such as XWall and older Exchange and Domino
 * servers) a non-standard "message/x…delivery-status" part or text that carries the same fields under a
 * Reporting-MTA or Final-Recipient line.
 */
function dsnText(raw: Buffer, leaves: MimeLeaf[]): string | null {
  const part =
    leaves.find((l) => l.contentType === 'message/delivery-status' || l.contentType === 'message/global-delivery-status') ??
    leaves.find((l) => /^message\/x-?[a-z-]*delivery-status$/.test(l.contentType));
  if (part) return leafText(raw, part);
  for (const leaf of leaves.filter((l) => l.contentType === 'text/plain').slice(0, 4)) {
    const text = leafText(raw, leaf, 128 * 1024);
    const start = /^(Reporting-MTA|Final-Recipient)[ \t]*:/im.exec(text);
    if (start && /^Action[ \t]*:[ \t]*(failed|delayed)/im.test(text.slice(start.index))) return text.slice(start.index);
  }
  return null;
}

function fromDsn(raw: Buffer, leaves: MimeLeaf[]): BounceReport | null {
  const text = dsnText(raw, leaves);
  if (text === null) return null;
  const blocks = text.split(/\r?\n[ \t]*\r?\n/).filter((b) => b.trim());
  const recipients: BounceRecipient[] = [];
  // The per-message block names no recipient, so every block can be read the same way.
  for (const block of blocks) {
    const f = fields(block);
    // The address the list sent to is the one to act on: Original-Recipient when it is a mail address
    // (Final-Recipient may be an X.400 name or a rewritten local mailbox).
    const candidates = [f.get('original-recipient'), f.get('final-recipient')].filter((v): v is string => !!v).map(typedAddress);
    // An X.400 or other non-mail name (no '@') is no one the list can act on; the VERP token still names the member.
    const address =
      candidates.find((a) => a.length <= 320 && /^[^@\s/]+@[^@\s.]+(\.[^@\s.]+)+$/.test(a)) ?? candidates.find((a) => a.length <= 320 && /^[^@\s/]+@[^@\s]+$/.test(a));
    // An address with '...' is one the reporting MTA obscured: there is no one to act on.
    if (!address || address.includes('...')) continue;
    const actionWord = (f.get('action') ?? '').toLowerCase().split(/[\s(]/)[0] ?? '';
    const diagnostic = f.get('diagnostic-code')?.replace(/^[A-Za-z-]+\s*;\s*/, '') ?? null;
    const status = statusOf(f.get('status') ?? null) ?? statusOf(diagnostic);
    // Only a reply code that opens the diagnostic (or Postfix's 'said: 550') is one: X.400 and other texts carry unrelated numbers.
    const smtpCode = smtpCodeOf(/^\s*[245]\d\d\b|\b(?:said|replied|response was|answered):\s*[245]\d\d\b/i.exec(diagnostic ?? '')?.[0] ?? null);
    const action: BounceAction = ACTIONS.has(actionWord as BounceAction)
      ? (actionWord as BounceAction)
      : status?.startsWith('4') ? 'delayed' : 'failed';
    // RFC 3464: 'failed' means the MTA gave up, whatever the status class (an expired 4.4.7 is still final).
    const permanent = action === 'failed';
    recipients.push({ address, action, status, permanent, diagnostic, smtpCode });
  }
  const bounced = recipients.filter((r) => r.action === 'failed' || r.action === 'delayed');
  if (recipients.length === 0) return null;
  const from = header(raw, 'from');
  const challenge = bounced.find((r) => CHALLENGE.test(r.diagnostic ?? ''));
  if (/boxbe|spamarrest/i.test(from) || challenge)
    return { isBounce: false, kind: 'dsn', recipients, reason: `challenge-response dressed as a delivery-status report${challenge ? `: ${challenge.diagnostic}` : ''}`, method: 'challenge-response' };
  return {
    isBounce: bounced.length > 0,
    kind: 'dsn',
    method: 'dsn',
    recipients,
    reason: bounced.length > 0 ? `delivery-status report: ${bounced.length} failed or delayed` : 'delivery-status report with no failed or delayed recipient',
  };
}

// ---------- heuristics ----------

const BOUNCE_SUBJECT =
  /(undeliver|undelivered|delivery (status notification|failure|failed|problem|has failed|notification)|returned mail|mail delivery (failed|failure|system|subsystem)|failure notice|could not be delivered|non[- ]?remis|nicht zustellbar|unzustellbar|delivery report|mail system error|returned to sender|message not delivered|permanent error|delivery (warning|delay)|warning: could not send|delayed mail|mail failure|undeliverable|rejected|nondeliverable|not delivered|delivery notification)/i;
/** Phrases that only delivery-failure reports use. */
const STRONG_BODY =
  /(message could not be delivered to|could not be delivered to the following|has not yet been delivered|following address(es)? failed|failed addresses follow|intended recipient:|delivery to the following recipients? failed|delivery has failed to these recipients|your message (was|could) not (be )?delivered|the following recipient\(s\) could not be reached|unable to deliver (your )?message to|permanent fatal errors|undeliverable to the following|user unknown|unknown user|no such user|mailbox unavailable)/i;
const DAEMON_FROM = /(mailer[-_]?daemon|postmaster|mail delivery (subsystem|system)|mail administrator|mail ?system|mmdf|smtp gateway|notification|lotus|exchange|internet mail)/i;
const TEMPORARY = /(attempts will continue|will (continue|keep) (trying|to try|retrying)|not yet been delivered|has been delayed|delivery (has been )?delayed|temporar(y|ily) (failure|error|deferred)|warning: (could not send|message)|still trying|(?<!permanently )deferred|will retry|retry (timeout|time) not reached|this is a warning|delay(ed)? (warning|notification))/i;
/** Where the returned copy of the original message starts: addresses after it are not the failed ones. */
const ORIGINAL = /^(-+ ?(this is a copy|original message|below this line|the original message|start of returned|returned message|message header follows|original message follows|copy of (the )?message)|\s*-+\s*(original message|forwarded message)|------ This is a copy|Received: from|Return-Path:)/im;

function heuristic(raw: Buffer, leaves: MimeLeaf[], subject: string, from: string): BounceReport {
  const texts = leaves
    .filter((l) => l.contentType.startsWith('text/') && l.contentType !== 'text/rfc822-headers')
    .map((l) => (l.contentType === 'text/html' ? htmlText(leafText(raw, l, 128 * 1024)) : leafText(raw, l, 128 * 1024)));
  let body = texts.join('\n');
  const cut = ORIGINAL.exec(body);
  if (cut && cut.index > 40) body = body.slice(0, cut.index);
  // The explanation is always near the top; the rest is the returned message or noise.
  body = body.slice(0, 64 * 1024);
  const subjectHit = BOUNCE_SUBJECT.test(subject);
  const fromHit = DAEMON_FROM.test(from);
  const qmail = /this is the qmail-send program|I'm afraid I wasn't able to deliver your message to the following addresses/i.test(body);
  const bodyHit = /(could not be delivered|couldn't be delivered|was not delivered|undeliverable|permanent(ly)? (fatal )?error|user unknown|unknown user|no such (user|mailbox|address)|mailbox (unavailable|full|is full|not found)|delivery (to the following recipients? )?(has )?failed|failed permanently|recipient address rejected|does not exist|not (a )?valid (mailbox|recipient)|unable to deliver|quota exceeded|message could not be sent|delivery to the following recipient)/i.test(body);
  const daemon = /mailer-daemon|postmaster|mail delivery (subsystem|system)/i.test(from);
  const strongBody = STRONG_BODY.test(body);
  if (!(qmail || daemon || strongBody || (subjectHit && (fromHit || bodyHit)) || (fromHit && bodyHit))) return none('no delivery-status report and no bounce pattern');
  const own = new Set([header(raw, 'to'), from].flatMap((h) => (h.match(ADDRESS) ?? []).map((a) => a.toLowerCase())));
  // Obscured addresses ('david...@') name no one; VERP return paths (x-bounces+…@) are the sender's own.
  const addresses = extract(body).filter((a) => !DAEMON.test(a) && !own.has(a.toLowerCase()) && !a.includes('..') && !/^[^@]*bounces?[+=-]/i.test(a));
  const temporary = TEMPORARY.test(body) || (/(delay|warning)/i.test(subject) && !/(user unknown|no such user|permanent)/i.test(`${subject}\n${body}`));
  const status = statusOf(body);
  const smtpCode = smtpCodeOf(/\b[45]\d\d[ -][0-9 .]/.exec(body)?.[0] ?? null);
  // A transcript line ("554 Too many hops", "Remote host said: 550 …") explains recipients whose own lines do not.
  const transcript = /^[^\n]{0,80}?\b[45]\d\d[ -][^\n]{3,300}$/m.exec(body)?.[0]?.trim() ?? null;
  const lowerBody = body.toLowerCase();
  const expandedTo = expansions(body);
  const recipients: BounceRecipient[] = [...new Set(addresses.map((a) => a.toLowerCase()))].map((lower) => {
    // An alias failed with the address it expanded to, for the same reason.
    const target = expandedTo.get(lower);
    const diagnostic = (target ? explanation(body, lowerBody, target) : null) ?? explanation(body, lowerBody, lower) ?? transcript;
    return {
      address: addresses.find((a) => a.toLowerCase() === lower) ?? lower,
      action: temporary ? 'delayed' : 'failed',
      status: statusOf(diagnostic) ?? status ?? null,
      permanent: !temporary,
      diagnostic,
      smtpCode: smtpCodeOf(/(?:^|[\s:])[45]\d\d(?:[ -]|: )[0-9A-Za-z .]/.exec(diagnostic ?? '')?.[0] ?? null) ?? smtpCode,
    };
  });
  return { isBounce: true, kind: 'heuristic', method: 'heuristic', recipients, reason: qmail ? 'qmail-send failure text' : `bounce pattern (${[subjectHit && 'subject', fromHit && 'sender', bodyHit && 'body'].filter(Boolean).join(', ')})` };
}

/**
 * What the report says about one address: the rest of its line and the lines under it up to a blank line
 * (Exim, qmail, Postfix, Sendmail and Exchange all put the reason there), whitespace collapsed; null when
 * that is only the address again.
 */
function explanation(body: string, lowerBody: string, address: string): string | null {
  const at = lowerBody.indexOf(address);
  if (at < 0) return null;
  const lineStart = body.lastIndexOf('\n', at) + 1;
  const window = body.slice(lineStart, Math.min(body.length, at + address.length + 600));
  const paragraph = window.split(/\r?\n[ \t]*\r?\n/)[0] ?? '';
  const text = paragraph.replace(/\s+/g, ' ').trim();
  const without = (t: string) => t.replace(new RegExp(address.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'ig'), '');
  if (without(text).replace(/[\s<>:,;()"'-]+/g, '').length >= 6) return text.slice(0, 500);
  // Lotus Notes and others put the reason in the next paragraph ("because:"), unless it names another address.
  const [first = '', second = ''] = body.slice(lineStart + paragraph.length, lineStart + paragraph.length + 800).replace(/^\s+/, '').split(/\r?\n[ \t]*\r?\n/);
  // A short label paragraph ("because:") introduces the reason below it.
  const nextText = (first.trim().length <= 20 && first.trim().endsWith(':') ? `${first} ${second}` : first).replace(/\s+/g, ' ').trim();
  return nextText.length >= 6 && !ADDRESS_ONE.test(without(nextText)) ? nextText.slice(0, 500) : null;
}

function htmlText(html: string): string {
  return html.replace(/<(br|p|div|tr|li)\b[^>]*>/gi, '\n').replace(/<[^>]+>/g, ' ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&').replace(/&nbsp;/g, ' ');
}

const EXPANDED_FROM = /\(expanded from:? <?([^\s<>()@]{1,64}@[A-Za-z0-9.-]{1,253}[A-Za-z0-9])>?\)/gi;

/** Sendmail's "(expanded from: alias)" lines: each alias, lower-cased, to the address above it that failed. */
function expansions(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(EXPANDED_FROM)) {
    const alias = m[1]?.toLowerCase();
    const before = text.slice(Math.max(0, (m.index ?? 0) - 600), m.index).match(ADDRESS) ?? [];
    const target = [...before].reverse().find((a) => a.toLowerCase() !== alias);
    if (alias && target) out.set(alias, target.toLowerCase());
  }
  return out;
}

/** Failed addresses in a bounce's explanation, with the addresses Sendmail says they were expanded from. */
function extract(text: string): string[] {
  const found = extractShaped(text);
  // Sendmail names the address an alias or .forward expanded from: the one the list sent to.
  for (const m of text.matchAll(EXPANDED_FROM)) if (m[1]) found.push(m[1]);
  return found;
}

/** Failed addresses in a bounce's explanation: MTA-specific shapes first, any address as a fallback. */
function extractShaped(text: string): string[] {
  const shaped: string[] = [];
  // AOL names the screen names that refused the message, without a domain.
  const aol = /(?:not accepting mail from|following recipients could not be delivered)[^\n]*\n\s*?\n?((?:[ \t]+[A-Za-z0-9._-]+[ \t]*\n?)+)/i.exec(text);
  if (aol?.[1]) return aol[1].split(/\s+/).filter(Boolean).map((n) => `${n}@aol.com`);
  // The original message's own header lines, quoted in the explanation (Exchange), name the list, not the recipient.
  const quoted = text.replace(/^[ \t]*(To|From|Cc|Sent|Subject|Date|Reply-To):.*$/gim, '');
  const marker = /(did not reach the following recipient|following recipient\(s\)|following address(es)?)[^\n]*\n/i.exec(quoted);
  if (marker) {
    const after = quoted.slice(marker.index + marker[0].length, marker.index + marker[0].length + 2000);
    const found = [...after.matchAll(/^[ \t]*(?:[^\n]*?SMTP=)?<?([^\s<>@;=]{1,64}@[A-Za-z0-9.-]{1,253}[A-Za-z0-9])>?/gm)].map((m) => m[1] ?? '');
    if (found.some((a) => !DAEMON.test(a))) return found;
  }
  const body = text;
  const patterns = [
    /^<([^>\s]{1,64}@[^>\s]{1,255})>:/gm, // qmail, Postfix non-DSN
    /^[ \t]+<?([^\s<>@]{1,64}@[^\s<>]{1,255}?)>?[ \t]*$/gm, // Exim: indented address alone on a line
    /^[ \t]*([^\s<>@:]{1,64}@[^\s<>:]{1,255})[ \t]*$/gm, // address alone on a line
    /(?:to|for|recipient|address(?:es)?|user|mailbox)[:\s]+<?["']?([^\s<>"'@:;,]{1,64}@[A-Za-z0-9.-]{1,253}[A-Za-z0-9])/gi,
    /<([^\s<>@]{1,64}@[^\s<>]{1,255})>\s*(?:\.{3}|:|\(|,)/g, // Sendmail: <addr>... User unknown
  ];
  for (const p of patterns) for (const m of body.matchAll(p)) if (m[1]) shaped.push(m[1].replace(/[.,;:]+$/, ''));
  const valid = shaped.filter((a) => a.length <= 320 && /^[^@\s]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(a));
  if (valid.length) return valid;
  return body.match(ADDRESS) ?? [];
}

/**
 * A refusal for the list's own sake (RFC 3463 5.7.x security/policy, DMARC, spam blocking), not a dead mailbox:
 * it does not count against the member, and the owners are told instead.
 */
export function isPolicyRejection(r: BounceRecipient): boolean {
  // What the diagnostic says outweighs the status: "5.7.1 No such user" is a dead mailbox, "user unknown (policy)" too.
  return LIST_PROBLEMS.has(r.category ?? classifyDiagnostic(r.diagnostic, r.status));
}
