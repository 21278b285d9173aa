// What the archive keeps of a message: threading headers, author, date, normalized subject and searchable text.
import { createHash } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { clean, parseHeaders, readFacts } from './message.js';

export interface ArchiveFacts {
  /** Without angle brackets; made up from the bytes' hash when the message has none, so a re-import matches. */
  messageId: string;
  inReplyTo: string | null;
  /** References, oldest first, without angle brackets. */
  references: string[];
  subject: string;
  baseSubject: string;
  /** The subject carried a reply or forward marker (Re:, AW:, Fwd: …). */
  isReply: boolean;
  authorName: string;
  authorAddress: string | null;
  /** ISO date from the Date: header, or null when it is missing or unreadable. */
  date: string | null;
  text: string;
}

/** A body is indexed up to this many characters: PostgreSQL caps a tsvector at 1 MB. */
const MAX_TEXT = 100_000;

/** Reply and forward markers in the languages mail clients commonly use (Mailman and mlmmj strip the same). */
const MARKER = /^\s*(?:(?:re|fwd?|aw|sv|vs|antw|wg|rif|res|odp)(?:\[\d+\]|\(\d+\))?\s*[:：]|\[[^\]]*\])\s*/i;

/** The subject without Re:/Fwd:/AW:/[list] prefixes, lower-case with spaces collapsed. */
export function baseSubject(subject: string): { base: string; isReply: boolean } {
  let s = subject;
  let isReply = false;
  for (;;) {
    const m = MARKER.exec(s);
    if (!m || m[0].length === 0) break;
    if (!m[0].trimStart().startsWith('[')) isReply = true;
    s = s.slice(m[0].length);
  }
  return { base: s.replace(/\s+/g, ' ').trim().toLowerCase(), isReply };
}

/** The <id> tokens of a Message-ID, In-Reply-To or References value, without brackets. */
export function messageIds(value: string): string[] {
  return [...value.matchAll(/<([^<>\s]+)>/g)].map((m) => m[1] as string);
}

function parseDate(value: string): string | null {
  if (!value.trim()) return null;
  const t = Date.parse(value.replace(/\s*\([^)]*\)\s*$/, ''));
  return Number.isFinite(t) ? new Date(t).toISOString() : null;
}

/** The body as plain text (HTML-only posts converted); behind this one function so mailparser can be swapped. */
export async function bodyText(raw: Buffer): Promise<string> {
  try {
    const parsed = await simpleParser(raw, { skipHtmlToText: false, skipImageLinks: true, skipTextLinks: true });
    return (parsed.text ?? '').slice(0, MAX_TEXT);
  } catch {
    // A body the parser cannot read is still archived; it just cannot be found by its words.
    return '';
  }
}

export async function archiveFacts(raw: Buffer): Promise<ArchiveFacts> {
  const facts = readFacts(raw);
  const headers = parseHeaders(raw);
  const value = (name: string) => headers.get(name).map((l) => l.replace(/^[^:]*:/, '').replace(/\r?\n/g, '')).join(' ');
  const own = messageIds(value('message-id'))[0] ?? clean(value('message-id'), 300).replace(/^<|>$/g, '');
  const { base, isReply } = baseSubject(facts.subject);
  return {
    messageId: own || `${createHash('sha256').update(raw).digest('hex').slice(0, 32)}@listflow.invalid`,
    inReplyTo: messageIds(value('in-reply-to'))[0] ?? null,
    references: messageIds(value('references')).slice(-50),
    subject: facts.subject,
    baseSubject: base,
    isReply,
    authorName: facts.fromName,
    authorAddress: facts.from,
    date: parseDate(value('date')),
    text: await bodyText(raw),
  };
}
