// A small, bounded MIME walker over raw bytes: where each leaf part's body lies, and its text. Synchronous
// (rules are pure functions) and defensive: malformed structure gives fewer parts, never an exception.
import { Headers } from '@zone-eu/mailsplit';
import libmime from 'libmime';

export interface MimeLeaf {
  /** Lower-case type/subtype; a part without one is text/plain (message/rfc822 inside multipart/digest). */
  contentType: string;
  charset: string;
  /** Lower-case Content-Transfer-Encoding ('' when absent). */
  encoding: string;
  /** 'attachment', 'inline' or ''. */
  disposition: string;
  /** The body's byte range in the raw message. */
  bodyStart: number;
  bodyEnd: number;
}

/** Deeper nesting or more parts than this is not real mail; what lies beyond is not looked at. */
/** How deep the walkers follow nested multiparts; deeper parts are treated as leaves. */
export const MAX_DEPTH = 8;
const MAX_PARTS = 200;

/** The index just after the blank line ending the header block in raw[start, end), or `end` when there is none. */
export function headerEnd(raw: Buffer, start: number, end: number): number {
  if (raw[start] === 0x0a) return start + 1;
  if (raw[start] === 0x0d && raw[start + 1] === 0x0a) return start + 2;
  for (let i = start; i < end; i++) {
    if (raw[i] !== 0x0a) continue;
    if (raw[i + 1] === 0x0a) return Math.min(i + 2, end);
    if (raw[i + 1] === 0x0d && raw[i + 2] === 0x0a) return Math.min(i + 3, end);
  }
  return end;
}

/** A structured header value (Content-Type and the like), lower-cased, with its parameters; never throws. */
export function parseValue(value: string): { value: string; params: Record<string, string> } {
  try {
    const parsed = libmime.parseHeaderValue(value);
    return { value: String(parsed.value ?? '').trim().toLowerCase(), params: (parsed.params ?? {}) as Record<string, string> };
  } catch {
    return { value: '', params: {} };
  }
}

/** The body ranges between the delimiters of one multipart body. */
export function splitParts(raw: Buffer, start: number, end: number, boundary: string): [number, number][] {
  const delimiter = `--${boundary}`;
  const parts: [number, number][] = [];
  let partStart = -1;
  let pos = start;
  while (pos < end && parts.length < MAX_PARTS) {
    const at = raw.indexOf(delimiter, pos, 'latin1');
    if (at < 0 || at >= end) break;
    const after = raw[at + delimiter.length];
    const atLineStart = at === start || raw[at - 1] === 0x0a;
    // "--b" must start a line and not be the prefix of a longer boundary.
    if (!atLineStart || (after !== undefined && ![0x2d, 0x0d, 0x0a, 0x20, 0x09].includes(after))) {
      pos = at + 1;
      continue;
    }
    if (partStart >= 0) {
      let partEnd = at;
      if (raw[partEnd - 1] === 0x0a) partEnd--;
      if (raw[partEnd - 1] === 0x0d) partEnd--;
      parts.push([partStart, Math.max(partStart, partEnd)]);
    }
    const closing = after === 0x2d && raw[at + delimiter.length + 1] === 0x2d;
    if (closing) return parts;
    const lineEnd = raw.indexOf(0x0a, at);
    if (lineEnd < 0 || lineEnd >= end) return parts;
    partStart = lineEnd + 1;
    pos = partStart;
  }
  // No closing delimiter: the last part runs to the end, as mail programs read it.
  if (partStart >= 0 && partStart < end && parts.length < MAX_PARTS) parts.push([partStart, end]);
  return parts;
}

/** A part's header block (from `start`) and where its body begins; a block mailsplit cannot read counts as empty. */
export function partHeaders(raw: Buffer, start: number, end: number): { headers: Headers; bodyStart: number } {
  const bodyStart = headerEnd(raw, start, end);
  try {
    return { headers: new Headers(raw.subarray(start, bodyStart)), bodyStart };
  } catch {
    return { headers: new Headers(false), bodyStart };
  }
}

function walk(raw: Buffer, start: number, end: number, depth: number, defaultType: string, out: MimeLeaf[]): void {
  const { headers, bodyStart } = partHeaders(raw, start, end);
  const ct = parseValue(headers.getFirst('content-type'));
  const contentType = ct.value.includes('/') ? ct.value : defaultType;
  const boundary = ct.params.boundary;
  if (contentType.startsWith('multipart/') && boundary && depth < MAX_DEPTH) {
    const childDefault = contentType === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
    for (const [s, e] of splitParts(raw, bodyStart, end, boundary)) {
      if (out.length >= MAX_PARTS) return;
      walk(raw, s, e, depth + 1, childDefault, out);
    }
    return;
  }
  out.push({
    contentType,
    charset: (ct.params.charset ?? '').trim().toLowerCase(),
    encoding: parseValue(headers.getFirst('content-transfer-encoding')).value,
    disposition: parseValue(headers.getFirst('content-disposition')).value,
    bodyStart,
    bodyEnd: end,
  });
}

/** Every leaf part in document order (an attached message/rfc822 is one leaf: its parts are not the post's). */
export function leafParts(raw: Buffer): MimeLeaf[] {
  const out: MimeLeaf[] = [];
  walk(raw, 0, raw.length, 0, 'text/plain', out);
  return out;
}

/** The first text/plain part that is not an attachment: what Mailman reads commands and Approved: from. */
export function firstTextPart(raw: Buffer, leaves = leafParts(raw)): MimeLeaf | null {
  return leaves.find((l) => l.contentType === 'text/plain' && l.disposition !== 'attachment') ?? null;
}

export function qpDecode(buf: Buffer): Buffer {
  const out = Buffer.alloc(buf.length);
  let n = 0;
  const hex = (c: number | undefined) =>
    c === undefined ? -1 : c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i] as number;
    if (c !== 0x3d) {
      out[n++] = c;
      continue;
    }
    if (buf[i + 1] === 0x0a) {
      i += 1;
      continue;
    }
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) {
      i += 2;
      continue;
    }
    const hi = hex(buf[i + 1]);
    const lo = hex(buf[i + 2]);
    if (hi >= 0 && lo >= 0) {
      out[n++] = hi * 16 + lo;
      i += 2;
    } else {
      out[n++] = c;
    }
  }
  return out.subarray(0, n);
}

/** Quoted-printable with soft breaks at 76 columns, keeping the text's own line breaks (written as `eol`). */
export function qpEncode(buf: Buffer, eol: string): string {
  const lines = buf.toString('latin1').split(/\r?\n/);
  return lines
    .map((line) => {
      let encoded = '';
      for (let i = 0; i < line.length; i++) {
        const c = line.charCodeAt(i);
        const last = i === line.length - 1;
        if ((c >= 33 && c <= 126 && c !== 61) || ((c === 32 || c === 9) && !last)) encoded += line[i];
        else encoded += `=${c.toString(16).toUpperCase().padStart(2, '0')}`;
      }
      const out: string[] = [];
      while (encoded.length > 76) {
        let cut = 75;
        // Never split an =XX escape.
        if (encoded[cut - 1] === '=') cut -= 1;
        else if (encoded[cut - 2] === '=') cut -= 2;
        out.push(`${encoded.slice(0, cut)}=`);
        encoded = encoded.slice(cut);
      }
      out.push(encoded);
      return out.join(eol);
    })
    .join(eol);
}

export function base64Encode(buf: Buffer, eol: string): string {
  const text = buf.toString('base64');
  const out: string[] = [];
  for (let i = 0; i < text.length; i += 76) out.push(text.slice(i, i + 76));
  return out.join(eol) + (out.length ? eol : '');
}

/** The body with its transfer encoding undone. */
export function decodeTransfer(body: Buffer, encoding: string): Buffer {
  if (encoding === 'base64') return Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/]/g, ''), 'base64');
  if (encoding === 'quoted-printable') return qpDecode(body);
  return body;
}

/** Decoded bytes → text in the part's charset; an unknown or broken charset is read as UTF-8 (U+FFFD for junk). */
export function toText(bytes: Buffer, charset: string): string {
  if (!charset || /^(utf-?8|us-ascii|ascii)$/.test(charset)) return bytes.toString('utf8');
  try {
    // WHATWG labels cover the charsets mail uses (iso-8859-*, windows-125x, koi8-r, shift_jis, gb18030…).
    return new TextDecoder(charset).decode(bytes);
  } catch {
    return bytes.toString('utf8');
  }
}

/** The text of a leaf, at most `maxBytes` of its raw body looked at. */
export function leafText(raw: Buffer, leaf: MimeLeaf, maxBytes = 256 * 1024): string {
  const body = raw.subarray(leaf.bodyStart, Math.min(leaf.bodyEnd, leaf.bodyStart + maxBytes));
  return toText(decodeTransfer(body, leaf.encoding), leaf.charset);
}
