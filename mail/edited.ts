// Whether a file a moderator edited is a message listflow can deliver in place of a held post.
import { readFacts, splitHeaderBlock } from './message.js';

/** A header field line (RFC 5322 2.2: printable ASCII name, no space, then a colon) or a folded continuation. */
const FIELD = /^[\x21-\x39\x3b-\x7e]+[ \t]*:/;
const CONTINUATION = /^[ \t]/;

/**
 * Why `raw` cannot stand in for a post, or null when it can: it must be text with a header block whose
 * every line is a header field, a From with an address and a Subject. A moderator's editor may have saved
 * bare LF line ends; those are accepted (normalizeLineEnds makes them CRLF before the message is stored).
 */
export function editedMessageProblem(raw: Buffer, maxBytes: number): string | null {
  if (raw.length === 0) return 'is empty';
  if (raw.length > maxBytes) return `is larger than the ${maxBytes} bytes a message may have`;
  if (raw.includes(0)) return 'is binary (it has NUL bytes), not a message';
  const { header } = splitHeaderBlock(raw);
  const lines = header.toString('latin1').split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (/^From /.test(lines[0] ?? '')) return 'starts with an mbox "From " line: remove that line (the message starts after it)';
  if (lines.length === 0 || !FIELD.test(lines[0] ?? '')) return 'does not start with a header block (From:, Subject:, … then a blank line)';
  const bad = lines.findIndex((line) => !FIELD.test(line) && !CONTINUATION.test(line));
  if (bad >= 0) return `has a line in its header block that is not a header field (line ${bad + 1})`;
  const facts = readFacts(raw);
  if (!facts.from) return 'has no From: header with an address';
  if (!/^subject[ \t]*:/im.test(header.toString('latin1'))) return 'has no Subject: header';
  return null;
}

/** CRLF line ends throughout, as SMTP carries a message; bytes other than line ends are untouched. */
export function normalizeLineEnds(raw: Buffer): Buffer {
  return Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}
