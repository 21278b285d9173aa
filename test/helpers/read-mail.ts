// Mail as the person receiving it reads it: the decoded subject and plain-text body of what the recorder took.
import { readFacts, splitHeaderBlock } from '../../mail/message.js';
import type { Received } from './smtp-recorder.js';

export interface ReadMail {
  to: string[];
  subject: string;
  /** The body, quoted-printable or base64 undone (single-part text mail: listflow's notices and test posts). */
  text: string;
  /** A copy of a list post (it carries List-Id), as opposed to a notice listflow wrote. */
  isListCopy: boolean;
}

function decodeQuotedPrintable(text: string): string {
  const bytes: number[] = [];
  const flat = text.replace(/=\r?\n/g, '');
  for (let i = 0; i < flat.length; i++) {
    const hex = flat.slice(i + 1, i + 3);
    if (flat[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(flat[i] as string, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The first text/plain part of a multipart message (notices with the post attached), else the message itself. */
function firstTextPart(raw: Buffer): Buffer {
  const { header, body } = splitHeaderBlock(raw);
  const boundary = /^content-type:\s*multipart\/[^;]*;[^]*?boundary="?([^";\r\n]+)"?/im.exec(header.toString('latin1'))?.[1];
  if (!boundary) return raw;
  for (const part of body.toString('latin1').split(`--${boundary}`)) {
    const bytes = Buffer.from(part.replace(/^\r?\n/, ''), 'latin1');
    const partHeader = splitHeaderBlock(bytes).header.toString('latin1');
    if (/^content-type:\s*text\/plain/im.test(partHeader)) return bytes;
  }
  return raw;
}

export function readMail(r: Received): ReadMail {
  const facts = readFacts(r.raw);
  const { header, body } = splitHeaderBlock(firstTextPart(r.raw));
  const encoding = /^content-transfer-encoding:\s*(\S+)/im.exec(header.toString('latin1'))?.[1]?.toLowerCase();
  const raw = body.toString('latin1');
  const text =
    encoding === 'quoted-printable'
      ? decodeQuotedPrintable(raw)
      : encoding === 'base64'
        ? Buffer.from(raw.replace(/\s+/g, ''), 'base64').toString('utf8')
        : body.toString('utf8');
  return { to: r.to.map((t) => t.toLowerCase()), subject: facts.subject, text: text.replace(/\r\n/g, '\n'), isListCopy: facts.listId !== '' };
}

/** Everything the recorder took for one address, read. */
export function mailFor(received: Received[], address: string): ReadMail[] {
  const key = address.toLowerCase();
  return received.filter((r) => r.to.some((t) => t.toLowerCase() === key)).map(readMail);
}
