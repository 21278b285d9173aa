// Where a header or footer text goes in a message, planned once and rendered many times (once per post, or
// once per recipient): a single text/plain part gets the text in its own charset and transfer encoding;
// anything else gets a separate text/plain part, in a multipart/mixed wrapper when the message has none.
// Every other byte of the message is copied, never re-encoded.
import { createHash } from 'node:crypto';
import iconv from 'iconv-lite';
import { base64Encode, decodeTransfer, qpEncode } from '../mime.js';
import { closingDelimiter, eolOf, isSealed, mimeTree, type MimeNode } from './tree.js';

export interface TextSlot {
  /** How the text is added: appended to the one text part, or as a part of its own. */
  kind: 'inline' | 'part';
  /** The message with `text` in place, as chunks to concatenate. */
  render(text: string): Buffer[];
}

const UTF8 = /^(utf-?8|us-ascii|ascii)$/;

/** Text → bytes in `charset`, or null when the charset cannot say it (or is unknown). */
function encodeIn(text: string, charset: string): Buffer | null {
  if (charset === 'us-ascii' || charset === 'ascii') return /^[\x00-\x7f]*$/.test(text) ? Buffer.from(text, 'latin1') : null;
  if (UTF8.test(charset)) return Buffer.from(text, 'utf8');
  if (!iconv.encodingExists(charset)) return null;
  const bytes = iconv.encode(text, charset);
  return iconv.decode(bytes, charset) === text ? bytes : null;
}

function withEol(text: string, eol: string): string {
  return text.replace(/\r?\n/g, eol);
}

/** A text/plain MIME part holding `text` (UTF-8; quoted-printable when not ASCII), ending with a line break. */
function textPart(text: string, eol: string): string {
  const bytes = Buffer.from(text, 'utf8');
  const ascii = /^[\x00-\x7f]*$/.test(text) && !text.split('\n').some((l) => l.length > 900);
  const body = ascii ? withEol(text, eol) : qpEncode(bytes, eol);
  return [
    'Content-Type: text/plain; charset="utf-8"',
    `Content-Transfer-Encoding: ${ascii ? '7bit' : 'quoted-printable'}`,
    'Content-Disposition: inline',
    '',
    body,
  ].join(eol) + eol;
}

function inlineSlot(raw: Buffer, root: MimeNode, where: 'start' | 'end', sample: string): TextSlot | null {
  if (root.contentType !== 'text/plain' || root.disposition === 'attachment') return null;
  const charset = (root.params.charset ?? 'us-ascii').trim().toLowerCase();
  const enc = root.encoding || '7bit';
  if (!['7bit', '8bit', 'binary', 'quoted-printable', 'base64'].includes(enc)) return null;
  const sampleBytes = encodeIn(sample, charset);
  if (!sampleBytes) return null;
  if (enc === '7bit' && sampleBytes.some((b) => b > 0x7f)) return null;
  const eol = eolOf(raw);
  const head = raw.subarray(0, root.bodyStart);
  const body = raw.subarray(root.bodyStart);
  const bytesOf = (text: string) => encodeIn(withEol(text, eol), charset) ?? Buffer.from(withEol(text, eol), 'utf8');
  const eolBuf = Buffer.from(eol, 'latin1');
  const endsWithEol = body.length === 0 || body[body.length - 1] === 0x0a;
  if (enc === 'base64') {
    // Base64 cannot be appended to: the text part is decoded once and re-encoded with the text.
    const decoded = decodeTransfer(body, 'base64');
    const sep = decoded.length === 0 || decoded[decoded.length - 1] === 0x0a ? Buffer.alloc(0) : eolBuf;
    return {
      kind: 'inline',
      render: (text) => {
        const t = bytesOf(text);
        const whole = where === 'end' ? Buffer.concat([decoded, sep, t, eolBuf]) : Buffer.concat([t, eolBuf, decoded]);
        return [head, Buffer.from(base64Encode(whole, eol), 'latin1')];
      },
    };
  }
  const encode = enc === 'quoted-printable' ? (text: string) => Buffer.from(qpEncode(bytesOf(text), eol), 'latin1') : bytesOf;
  if (where === 'end') {
    const sep = endsWithEol ? Buffer.alloc(0) : eolBuf;
    return { kind: 'inline', render: (text) => [head, body, sep, encode(text), eolBuf] };
  }
  return { kind: 'inline', render: (text) => [head, encode(text), eolBuf, body] };
}

/** A multipart/mixed root: the text becomes its first or last part. */
function partSlot(raw: Buffer, root: MimeNode, where: 'start' | 'end'): TextSlot {
  const eol = eolOf(raw);
  const delimiter = `--${root.params.boundary}`;
  const part = (text: string) => Buffer.from(`${delimiter}${eol}${textPart(text, eol)}`, 'latin1');
  if (where === 'start') {
    const first = root.children[0];
    const at = first ? raw.lastIndexOf(delimiter, first.start, 'latin1') : -1;
    if (at >= 0) return { kind: 'part', render: (text) => [raw.subarray(0, at), part(text), raw.subarray(at)] };
  }
  const at = closingDelimiter(raw, root);
  if (at >= 0) return { kind: 'part', render: (text) => [raw.subarray(0, at), part(text), raw.subarray(at)] };
  // No closing delimiter (truncated mail): close it after the new part.
  const sep = raw[raw.length - 1] === 0x0a ? '' : eol;
  return {
    kind: 'part',
    render: (text) => [raw, Buffer.from(sep, 'latin1'), part(text), Buffer.from(`${delimiter}--${eol}`, 'latin1')],
  };
}

/** Content-* header lines move into the wrapped part; the rest stay on the message. */
const CONTENT_HEADER = /^content-/i;

/**
 * Wraps the whole body in multipart/mixed: the original content (its Content-* header lines and body bytes
 * unchanged) becomes the first part, so signed content stays verifiable.
 */
export function wrapMixed(raw: Buffer, root: MimeNode): { raw: Buffer; root: MimeNode } {
  const eol = eolOf(raw);
  const boundary = `listflow-mixed-${createHash('sha256').update(raw).digest('hex').slice(0, 24)}`;
  const lines = root.headers.getList();
  const keep = lines.filter((l) => !CONTENT_HEADER.test(l.key) && l.key !== 'mime-version').map((l) => l.line);
  const moved = lines.filter((l) => CONTENT_HEADER.test(l.key)).map((l) => l.line);
  const norm = (l: string) => l.replace(/\r?\n/g, eol);
  const head = [
    ...keep.map(norm),
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    '',
    '',
  ].join(eol);
  const inner = moved.map(norm).join(eol) + eol + eol;
  const body = raw.subarray(root.bodyStart);
  // The line break before a delimiter belongs to the delimiter: one is added so the body keeps its own.
  const out = Buffer.concat([
    Buffer.from(`${head}--${boundary}${eol}${moved.length ? inner : eol}`, 'latin1'),
    body,
    Buffer.from(`${eol}--${boundary}--${eol}`, 'latin1'),
  ]);
  return { raw: out, root: mimeTree(out) };
}

/**
 * Plans where `where` text goes. `sample` is a rendering of the text used to check that the part's charset
 * can hold it. Null for encrypted content, which no text can be added to without breaking it.
 */
export function planTextSlot(raw: Buffer, where: 'start' | 'end', sample: string): TextSlot | null {
  let root = mimeTree(raw);
  if (root.contentType === 'multipart/encrypted' || root.contentType.endsWith('pkcs7-mime')) return null;
  const inline = isSealed(root) ? null : inlineSlot(raw, root, where, sample);
  if (inline) return inline;
  if (root.contentType === 'multipart/mixed' && root.params.boundary) return partSlot(raw, root, where);
  const wrapped = wrapMixed(raw, root);
  root = wrapped.root;
  return partSlot(wrapped.raw, root, where);
}
