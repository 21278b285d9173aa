// A digest issue, composed once: MIME (multipart/digest, each post byte for byte as members would have got
// it, RFC 2046) and plain text (RFC 1153), with volume and issue numbers and a table of contents.
import libmime from 'libmime';
import { listSubAddress } from './address.js';
import { listIdOf } from './decorate.js';
import { clean, readFacts } from './message.js';
import { firstTextPart, leafParts, leafText, qpEncode } from './mime.js';

export interface DigestIssueInfo {
  list: string;
  displayName: string;
  description: string;
  volume: number;
  number: number;
  date: Date;
  /** Without angle brackets; each format gets its own (the suffix differs). */
  messageIdBase: string;
  /** Makes the MIME boundaries unique (they are checked against the posts, too). */
  boundarySeed: string;
}

export interface DigestEntry {
  subject: string;
  author: string;
}

export interface ComposedDigest {
  mime: Buffer;
  plain: Buffer;
  subject: string;
  toc: DigestEntry[];
}

const CRLF = '\r\n';
/** RFC 1153: 70 hyphens end the preamble (the table of contents), 30 separate the messages. */
export const PREAMBLE_SEPARATOR = '-'.repeat(70);
export const MESSAGE_SEPARATOR = '-'.repeat(30);
/** RFC 1153's header subset, in its order. */
const PLAIN_HEADERS = ['date', 'from', 'to', 'cc', 'subject', 'message-id', 'keywords', 'summary'];

export function digestSubject(info: Pick<DigestIssueInfo, 'displayName' | 'volume' | 'number'>): string {
  return `${info.displayName} Digest, Vol ${info.volume}, Issue ${info.number}`;
}

function rfc2822Date(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '+0000');
}

function headerValue(value: string): string {
  // Non-ASCII (a display name, a subject) is RFC 2047-encoded; ASCII is folded as is.
  return /[^\x20-\x7e]/.test(value) ? libmime.encodeWords(value, 'Q', 52) : libmime.foldLines(value, 76, true).trim();
}

function entryOf(raw: Buffer): DigestEntry {
  const facts = readFacts(raw);
  const author = facts.fromName ? `${facts.fromName}` : (facts.from ?? 'unknown sender');
  return { subject: clean(facts.subject || '(no subject)', 200), author: clean(author, 100) };
}

/** Masthead and table of contents, shared by both formats. */
function frontMatter(info: DigestIssueInfo, toc: DigestEntry[]): string[] {
  const request = listSubAddress(info.list, 'request');
  return [
    `Send ${info.displayName} mailing list submissions to`,
    `\t${info.list}`,
    '',
    'To subscribe or unsubscribe, or to change to regular delivery, send a message',
    `with the subject "help" to`,
    `\t${request}`,
    '',
    `You can reach the person managing the list at`,
    `\t${listSubAddress(info.list, 'owner')}`,
    '',
    'When replying, please edit your Subject line so it is more specific than',
    `"Re: Contents of ${info.displayName} digest..."`,
    '',
    `Today's Topics (${toc.length} ${toc.length === 1 ? 'message' : 'messages'}):`,
    '',
    ...toc.map((e, i) => `${String(i + 1).padStart(4)}. ${e.subject} (${e.author})`),
    '',
  ];
}

function listHeaders(info: DigestIssueInfo, subject: string, messageId: string): string[] {
  const request = listSubAddress(info.list, 'request');
  return [
    `From: ${/[^\x20-\x7e]/.test(info.displayName) ? headerValue(info.displayName) : `"${info.displayName.replace(/["\\]/g, '')}"`} <${info.list}>`,
    `To: ${info.list}`,
    `Subject: ${headerValue(subject)}`,
    `Date: ${rfc2822Date(info.date)}`,
    `Message-ID: <${messageId}>`,
    'MIME-Version: 1.0',
    `List-Id: ${headerValue(listIdOf(info.list, info.displayName, info.description))}`,
    `List-Post: <mailto:${info.list}>`,
    `List-Help: <mailto:${request}?subject=help>`,
    `List-Subscribe: <mailto:${request}?subject=subscribe>`,
    `List-Unsubscribe: <mailto:${request}?subject=unsubscribe>`,
    `List-Owner: <mailto:${listSubAddress(info.list, 'owner')}>`,
    'Precedence: list',
    `X-BeenThere: ${info.list}`,
    `X-Listflow-Digest: ${info.volume}/${info.number}`,
  ];
}

function has8bit(buf: Buffer): boolean {
  for (const b of buf) if (b > 0x7f) return true;
  return false;
}

/** A boundary that occurs in none of the posts (RFC 2046 §5.1.1: it must not appear in the encapsulated parts). */
function boundaryFor(seed: string, tag: string, posts: Buffer[]): string {
  for (let n = 0; ; n++) {
    const b = `=_listflow_${tag}_${seed}${n ? `_${n}` : ''}`;
    if (!posts.some((p) => p.includes(b))) return b;
  }
}

/** A text body as a part's headers and bytes: 8bit UTF-8, or quoted-printable when a line would be too long for SMTP. */
function textBody(lines: string[]): { headers: string[]; body: Buffer } {
  const text = Buffer.from(lines.join(CRLF) + CRLF, 'utf8');
  const tooLong = lines.some((l) => Buffer.byteLength(l) > 990);
  if (tooLong) {
    return { headers: ['Content-Type: text/plain; charset="utf-8"', 'Content-Transfer-Encoding: quoted-printable'], body: Buffer.from(qpEncode(text, CRLF), 'latin1') };
  }
  return { headers: ['Content-Type: text/plain; charset="utf-8"', `Content-Transfer-Encoding: ${has8bit(text) ? '8bit' : '7bit'}`], body: text };
}

function mimeDigest(info: DigestIssueInfo, subject: string, toc: DigestEntry[], posts: Buffer[]): Buffer {
  const outer = boundaryFor(info.boundarySeed, 'mixed', posts);
  const inner = boundaryFor(info.boundarySeed, 'digest', posts);
  const eightBit = posts.some(has8bit);
  const front = textBody(frontMatter(info, toc));
  const chunks: Buffer[] = [];
  const push = (text: string) => chunks.push(Buffer.from(text, 'utf8'));
  push(
    [
      ...listHeaders(info, subject, `${info.messageIdBase}.mime`),
      `Content-Type: multipart/mixed; boundary="${outer}"`,
      `Content-Transfer-Encoding: ${eightBit || has8bit(front.body) ? '8bit' : '7bit'}`,
      '',
      'This is a MIME digest: each message is attached as a message/rfc822 part.',
      `--${outer}`,
      ...front.headers,
      `Content-Description: ${headerValue(subject)}`,
      '',
      '',
    ].join(CRLF),
  );
  chunks.push(front.body);
  push([`${CRLF}--${outer}`, `Content-Type: multipart/digest; boundary="${inner}"`, `Content-Transfer-Encoding: ${eightBit ? '8bit' : '7bit'}`, '', ''].join(CRLF));
  for (const raw of posts) {
    // The CRLF before each delimiter belongs to the delimiter (RFC 2046 §5.1.1), so the part is exactly `raw`.
    push([`${CRLF}--${inner}`, 'Content-Type: message/rfc822', `Content-Transfer-Encoding: ${has8bit(raw) ? '8bit' : '7bit'}`, '', ''].join(CRLF));
    chunks.push(raw);
  }
  push(`${CRLF}--${inner}--${CRLF}${CRLF}--${outer}--${CRLF}`);
  return Buffer.concat(chunks);
}

/** One message as RFC 1153 wants it: a header subset, a blank line, the text. */
function plainMessage(raw: Buffer): string[] {
  const facts = readFacts(raw);
  const headers: string[] = [];
  for (const name of PLAIN_HEADERS) {
    const h = facts.headers.find((x) => x.name === name);
    if (h) headers.push(`${name.replace(/(^|-)([a-z])/g, (_, d: string, c: string) => d + c.toUpperCase()).replace('Message-Id', 'Message-ID')}: ${h.value}`);
  }
  const leaves = leafParts(raw);
  const leaf = firstTextPart(raw, leaves);
  const text = leaf ? leafText(raw, leaf, 1024 * 1024) : '[This message has no plain-text part; the MIME digest carries it.]';
  const body = text
    .replace(/\r\n?/g, '\n')
    .replace(/\n+$/, '')
    .split('\n')
    // A line of exactly 30 hyphens in a message would read as a separator: shift it by a space.
    .map((l) => (l === MESSAGE_SEPARATOR ? ` ${l}` : l));
  return [...headers, '', ...body];
}

function plainDigest(info: DigestIssueInfo, subject: string, toc: DigestEntry[], posts: Buffer[]): Buffer {
  const end = `End of ${subject}`;
  const lines = [...frontMatter(info, toc), PREAMBLE_SEPARATOR, ''];
  for (const raw of posts) lines.push(...plainMessage(raw), '', MESSAGE_SEPARATOR, '');
  lines.push(end, '*'.repeat(end.length));
  const body = textBody(lines);
  return Buffer.concat([Buffer.from([...listHeaders(info, subject, `${info.messageIdBase}.plain`), ...body.headers, '', ''].join(CRLF), 'utf8'), body.body]);
}

/** Both formats of one issue from the decorated posts, in order. */
export function composeDigest(info: DigestIssueInfo, posts: Buffer[]): ComposedDigest {
  const toc = posts.map(entryOf);
  const subject = digestSubject(info);
  return { mime: mimeDigest(info, subject, toc, posts), plain: plainDigest(info, subject, toc, posts), subject, toc };
}
