// Removing the moderator's approval from a post before members see it: the Approved:/Approve: headers and
// the pseudo-header line at the top of the first text part (and the same password in an HTML alternative).
// Only the bytes of the parts that carry it change; the rest of the message stays byte-identical.
import { Headers } from '@zone-eu/mailsplit';
import { splitHeaderBlock } from './message.js';
import { APPROVAL_HEADERS, findApprovalLine } from './approval-line.js';
import { base64Encode, decodeTransfer, firstTextPart, leafParts, qpEncode, type MimeLeaf } from './mime.js';

interface Edit {
  start: number;
  end: number;
  bytes: Buffer;
}

function eolOf(body: Buffer): string {
  return body.includes('\r\n') ? '\r\n' : '\n';
}

function encodeLike(leaf: MimeLeaf, decoded: Buffer, eol: string): Buffer {
  if (leaf.encoding === 'base64') return Buffer.from(base64Encode(decoded, eol), 'latin1');
  if (leaf.encoding === 'quoted-printable') return Buffer.from(qpEncode(decoded, eol), 'latin1');
  return decoded;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function stripApproval(raw: Buffer): Buffer {
  const edits: Edit[] = [];
  const leaves = leafParts(raw);
  const text = firstTextPart(raw, leaves);
  if (text) {
    const body = raw.subarray(text.bodyStart, text.bodyEnd);
    const decoded = decodeTransfer(body, text.encoding);
    const found = findApprovalLine(decoded, text.charset);
    if (found) {
      const without = Buffer.concat([decoded.subarray(0, found.start), decoded.subarray(found.cut)]);
      edits.push({ start: text.bodyStart, end: text.bodyEnd, bytes: encodeLike(text, without, eolOf(body)) });
      // The HTML alternative of the same text shows the password too, perhaps between tags.
      const inHtml = new RegExp(`(?:x-)?approved?\\s*:\\s*(?:<[^>]{0,200}>\\s*|&nbsp;\\s*)*${escapeRegExp(Buffer.from(found.secret).toString('latin1'))}`, 'gi');
      for (const leaf of leaves) {
        if (leaf === text || !leaf.contentType.startsWith('text/') || leaf.disposition === 'attachment') continue;
        const partBody = raw.subarray(leaf.bodyStart, leaf.bodyEnd);
        const decoded = decodeTransfer(partBody, leaf.encoding).toString('latin1');
        const replaced = decoded.replace(inHtml, '');
        if (replaced !== decoded) edits.push({ start: leaf.bodyStart, end: leaf.bodyEnd, bytes: encodeLike(leaf, Buffer.from(replaced, 'latin1'), eolOf(partBody)) });
      }
    }
  }
  let out = raw;
  if (edits.length > 0) {
    const pieces: Buffer[] = [];
    let at = 0;
    for (const e of edits.sort((a, b) => a.start - b.start)) {
      pieces.push(raw.subarray(at, e.start), e.bytes);
      at = e.end;
    }
    pieces.push(raw.subarray(at));
    out = Buffer.concat(pieces);
  }
  const { header, body } = splitHeaderBlock(out);
  const headers = new Headers(header);
  if (!APPROVAL_HEADERS.some((h) => headers.hasHeader(h))) return out;
  for (const h of APPROVAL_HEADERS) headers.remove(h);
  return Buffer.concat([headers.build(), body]);
}
