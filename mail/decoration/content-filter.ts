// Content filtering (Mailman's filter_content): which MIME parts are taken out, multipart/alternative
// collapsed to its first part, HTML turned into plain text. Used by the content-filter posting rule (to hold
// or reject before acceptance) and by the decoration handler (to remove the parts). Kept parts' bytes are
// copied as they are; signed and encrypted content is never entered.
import { Headers } from '@zone-eu/mailsplit';
import { convert } from 'html-to-text';
import { decodeTransfer, qpEncode, toText } from '../mime.js';
import { splitHeaderBlock } from '../message.js';
import type { ListSettings } from '../settings.js';
import { childRange, eolOf, isSealed, mimeTree, type MimeNode } from './tree.js';

export type FilterSettings = Pick<
  ListSettings,
  'filter_content' | 'filter_types' | 'pass_types' | 'filter_extensions' | 'pass_extensions' | 'collapse_alternatives' | 'convert_html_to_plaintext'
>;

export interface FilterResult {
  /** The filtered message; null when nothing would be left of it. */
  raw: Buffer | null;
  /** The parts taken out, one line each ("image/png photo.png"). */
  removed: string[];
  /** What else changed (collapsed alternatives, converted HTML). */
  changed: string[];
}

function extensionOf(filename: string): string {
  const dot = filename.lastIndexOf('.');
  return dot > 0 ? filename.slice(dot + 1).toLowerCase() : '';
}

function matchesType(items: string[], type: string): boolean {
  const major = type.split('/')[0] ?? '';
  return items.some((i) => {
    const t = i.toLowerCase();
    return t === type || t === major || t === `${major}/*`;
  });
}

/** Why a leaf is taken out, or null when it passes. */
export function filteredWhy(n: MimeNode, s: FilterSettings): string | null {
  const ext = extensionOf(n.filename);
  if (matchesType(s.filter_types, n.contentType)) return `${n.contentType} is in filter_types`;
  if (s.pass_types.length && !matchesType(s.pass_types, n.contentType)) return `${n.contentType} is not in pass_types`;
  if (ext && s.filter_extensions.some((e) => e.toLowerCase().replace(/^\./, '') === ext)) return `.${ext} is in filter_extensions`;
  if (ext && s.pass_extensions.length && !s.pass_extensions.some((e) => e.toLowerCase().replace(/^\./, '') === ext)) return `.${ext} is not in pass_extensions`;
  return null;
}

function describe(n: MimeNode): string {
  return [n.contentType, n.filename].filter(Boolean).join(' ');
}

/** Replaces a node's Content-* header lines by another part's; the node's other header lines stay. */
function adoptContent(nodeHeader: Buffer, part: Buffer): Buffer {
  const inner = new Headers(splitHeaderBlock(part).header);
  const outer = new Headers(nodeHeader);
  for (const l of outer.getList()) if (l.key.startsWith('content-')) outer.remove(l.key);
  const lines = inner.getList().filter((l) => l.key.startsWith('content-'));
  for (const l of lines) outer.addFormatted(l.key, l.line, Number.MAX_SAFE_INTEGER);
  outer.changed = true;
  return Buffer.concat([outer.build(), splitHeaderBlock(part).body]);
}

function htmlToText(raw: Buffer, n: MimeNode): Buffer {
  const html = toText(decodeTransfer(raw.subarray(n.bodyStart, n.end), n.encoding), (n.params.charset ?? '').toLowerCase());
  const eol = eolOf(raw);
  const text = convert(html, { wordwrap: 72 });
  const headers = new Headers(raw.subarray(n.start, n.bodyStart));
  headers.update('Content-Type', 'text/plain; charset="utf-8"');
  headers.update('Content-Transfer-Encoding', 'quoted-printable');
  return Buffer.concat([headers.build(eol), Buffer.from(qpEncode(Buffer.from(text, 'utf8'), eol) + eol, 'latin1')]);
}

export function filterContent(raw: Buffer, s: FilterSettings): FilterResult {
  const removed: string[] = [];
  const changed: string[] = [];
  if (!s.filter_content) return { raw, removed, changed };

  /** The new bytes of node n's range [start, end), or null when it goes. */
  function rewrite(n: MimeNode, isRoot: boolean): Buffer | null {
    const own = raw.subarray(n.start, n.end);
    if (isSealed(n)) return own;
    if (!n.children.length) {
      const why = n.contentType.startsWith('multipart/') ? null : filteredWhy(n, s);
      if (why) {
        removed.push(`${describe(n)} (${why})`);
        return null;
      }
      if (n.contentType === 'text/html' && s.convert_html_to_plaintext) {
        changed.push('text/html converted to text/plain');
        return htmlToText(raw, n);
      }
      return own;
    }
    if (n.contentType === 'multipart/alternative' && s.collapse_alternatives) {
      for (const child of n.children) {
        const kept = rewrite(child, false);
        if (!kept) continue;
        changed.push(`multipart/alternative collapsed to ${child.contentType}`);
        return isRoot ? adoptContent(raw.subarray(n.start, n.bodyStart), kept) : kept;
      }
      return null;
    }
    const splices: [number, number, Buffer][] = [];
    let left = 0;
    n.children.forEach((child, i) => {
      const kept = rewrite(child, false);
      if (!kept) splices.push([...childRange(raw, n, i), Buffer.alloc(0)]);
      else {
        left++;
        if (!kept.equals(raw.subarray(child.start, child.end))) splices.push([child.start, child.end, kept]);
      }
    });
    if (left === 0) return null;
    if (!splices.length) return own;
    const chunks: Buffer[] = [];
    let at = n.start;
    for (const [from, to, bytes] of splices) {
      chunks.push(raw.subarray(at, from), bytes);
      at = to;
    }
    chunks.push(raw.subarray(at, n.end));
    return Buffer.concat(chunks);
  }

  const out = rewrite(mimeTree(raw), true);
  return { raw: out, removed, changed };
}
