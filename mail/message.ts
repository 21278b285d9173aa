// Reading the facts a list manager needs from a raw message, without parsing its body.
import { Headers } from '@zone-eu/mailsplit';
import libmime from 'libmime';
import addressparser from 'nodemailer/lib/addressparser';
import { findApprovalLine } from './approval-line.js';
import { decodeTransfer, firstTextPart, leafParts, leafText } from './mime.js';

/** Splits raw bytes at the blank line that ends the header block. */
export function splitHeaderBlock(raw: Buffer): { header: Buffer; body: Buffer } {
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0x0a) continue;
    if (raw[i + 1] === 0x0a) return { header: raw.subarray(0, i + 2), body: raw.subarray(i + 2) };
    if (raw[i + 1] === 0x0d && raw[i + 2] === 0x0a) return { header: raw.subarray(0, i + 3), body: raw.subarray(i + 3) };
  }
  // No body at all: the whole message is headers.
  return { header: raw, body: Buffer.alloc(0) };
}

export function parseHeaders(raw: Buffer): Headers {
  return new Headers(splitHeaderBlock(raw).header);
}

export interface MessageFacts {
  /** The author's address from From:, lower-case domain; null when there is no usable one. */
  from: string | null;
  fromName: string;
  /** Sender: when present, else null. */
  sender: string | null;
  subject: string;
  messageId: string;
  size: number;
  /** Values of X-BeenThere (list loop markers). */
  beenThere: string[];
  listId: string;
  precedence: string;
  autoSubmitted: string;
  /** Addresses in To: and Cc:, lower-case, in order (duplicates kept out). */
  to: string[];
  cc: string[];
  /** Every header as (lower-case name, unfolded, decoded, control characters removed, at most 1000 characters). */
  headers: { name: string; value: string }[];
  /** The first non-blank lines (at most 20, each cleaned) of the first text/plain part that is not an attachment. */
  textLines: string[];
  /** How many non-blank lines that part has (0 when there is none). */
  textLineCount: number;
  /** The secret of an "Approved: <secret>" first line of that part (removed before delivery), or null. */
  approvalLine: string | null;
}

/** Facts about the text are read from at most this much of the part: commands and Approved: sit at the top. */
const TEXT_BYTES = 64 * 1024;
const TEXT_LINES = 20;

function firstMailbox(value: string): { address: string; name: string } | null {
  if (!value) return null;
  for (const entry of addressparser(value, { flatten: true })) {
    // local@domain, both parts there: "@@@" or "<@x>" from a broken From: is no usable sender.
    if (entry.address && /^[^@\s]+@[^@\s]+$/.test(entry.address)) return { address: entry.address, name: decoded(entry.name || '') };
  }
  return null;
}

/** Decodes RFC 2047 encoded words; a malformed one is kept as it came rather than failing the message. */
function decoded(value: string): string {
  try {
    return libmime.decodeWords(value);
  } catch {
    return value;
  }
}

/** Truncates and strips control characters so a header value is safe to show and to store. */
export function clean(text: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function addressesOf(values: string[]): string[] {
  const out: string[] = [];
  for (const value of values) {
    let entries: { address?: string }[];
    try {
      entries = addressparser(value, { flatten: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const a = clean(e.address ?? '', 320).toLowerCase();
      if (a.includes('@') && !out.includes(a)) out.push(a);
      // A To: line with thousands of addresses is not a post anyone reads; enough to count and match.
      if (out.length >= 1000) return out;
    }
  }
  return out;
}

function headerPairs(headers: Headers): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  for (const { key, line } of headers.getList()) {
    const colon = line.indexOf(':');
    if (colon < 0 || !key) continue;
    // mailsplit keeps header lines as binary strings; read 8-bit values as UTF-8 (junk becomes U+FFFD).
    const value = Buffer.from(line.slice(colon + 1), 'latin1').toString('utf8').replace(/\r?\n/g, '');
    out.push({ name: clean(key, 100).toLowerCase(), value: clean(decoded(value), 1000) });
  }
  return out;
}

function textFacts(raw: Buffer): { textLines: string[]; textLineCount: number; approvalLine: string | null } {
  let text = '';
  let approvalLine: string | null = null;
  try {
    const part = firstTextPart(raw, leafParts(raw));
    if (part) {
      text = leafText(raw, part, TEXT_BYTES);
      const head = raw.subarray(part.bodyStart, Math.min(part.bodyEnd, part.bodyStart + TEXT_BYTES));
      approvalLine = findApprovalLine(decodeTransfer(head, part.encoding), part.charset)?.secret ?? null;
    }
  } catch {
    // Structure too broken to find a text part: the rules see none.
  }
  // Lines end at LF (a bare CR is a control character, as in the approval line above).
  const lines = text.split('\n').map((l) => clean(l, 1000)).filter((l) => l !== '');
  return { textLines: lines.slice(0, TEXT_LINES), textLineCount: lines.length, approvalLine };
}

export function readFacts(raw: Buffer): MessageFacts {
  const headers = parseHeaders(raw);
  const from = firstMailbox(headers.getFirst('from'));
  const sender = firstMailbox(headers.getFirst('sender'));
  return {
    from: from ? from.address : null,
    fromName: clean(from?.name ?? ''),
    sender: sender ? sender.address : null,
    subject: clean(decoded(headers.getFirst('subject')), 300),
    messageId: clean(headers.getFirst('message-id'), 300),
    size: raw.length,
    beenThere: headers.get('x-beenthere').map((line) => clean(line.replace(/^[^:]*:/, ''), 300).toLowerCase()),
    listId: clean(headers.getFirst('list-id'), 300),
    precedence: clean(headers.getFirst('precedence'), 50).toLowerCase(),
    autoSubmitted: clean(headers.getFirst('auto-submitted'), 50).toLowerCase(),
    to: addressesOf(headers.get('to').map((l) => l.replace(/^[^:]*:/, ''))),
    cc: addressesOf(headers.get('cc').map((l) => l.replace(/^[^:]*:/, ''))),
    headers: headerPairs(headers),
    ...textFacts(raw),
  };
}

/**
 * RFC 3834 and list etiquette: never answer a null sender, automatic mail, or mail from another list.
 * Returns the reason not to reply, or null when a reply is fine.
 */
export function noAutoReplyReason(facts: MessageFacts, envelopeFrom: string): string | null {
  if (!envelopeFrom) return 'the envelope sender is null';
  if (facts.autoSubmitted && facts.autoSubmitted !== 'no') return `Auto-Submitted: ${facts.autoSubmitted}`;
  if (['bulk', 'list', 'junk'].includes(facts.precedence)) return `Precedence: ${facts.precedence}`;
  if (facts.listId) return 'it came from a mailing list (List-Id)';
  if (/^(mailer-daemon|postmaster)@/i.test(envelopeFrom)) return 'it came from a mail system';
  return null;
}
