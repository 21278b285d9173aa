// The MIME structure of a raw message as byte ranges, so decoration can splice parts in and out without
// re-encoding anything it does not change. Built on the bounded walker of mail/mime.ts.
import { Headers } from '@zone-eu/mailsplit';
import libmime from 'libmime';
import { MAX_DEPTH, parseValue, partHeaders, splitParts } from '../mime.js';

export interface MimeNode {
  /** Where the part (its header block) starts and where its body starts and ends in the raw message. */
  start: number;
  bodyStart: number;
  end: number;
  headers: Headers;
  /** Lower-case type/subtype; text/plain when absent (message/rfc822 inside multipart/digest). */
  contentType: string;
  params: Record<string, string>;
  encoding: string;
  disposition: string;
  /** The file name from Content-Disposition or Content-Type, '' when none. */
  filename: string;
  children: MimeNode[];
}

function decodedParam(value: string | undefined): string {
  if (!value) return '';
  try {
    return libmime.decodeWords(value);
  } catch {
    return value;
  }
}

function node(raw: Buffer, start: number, end: number, depth: number, defaultType: string): MimeNode {
  const { headers, bodyStart } = partHeaders(raw, start, end);
  const ct = parseValue(headers.getFirst('content-type'));
  const cd = parseValue(headers.getFirst('content-disposition'));
  const contentType = ct.value.includes('/') ? ct.value : defaultType;
  const n: MimeNode = {
    start,
    bodyStart,
    end,
    headers,
    contentType,
    params: ct.params,
    encoding: parseValue(headers.getFirst('content-transfer-encoding')).value,
    disposition: cd.value,
    filename: decodedParam(cd.params.filename ?? ct.params.name),
    children: [],
  };
  const boundary = ct.params.boundary;
  if (contentType.startsWith('multipart/') && boundary && depth < MAX_DEPTH) {
    const childDefault = contentType === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
    n.children = splitParts(raw, bodyStart, end, boundary).map(([s, e]) => node(raw, s, e, depth + 1, childDefault));
  }
  return n;
}

/** The whole message as a tree; the root's headers are the message's header block. */
export function mimeTree(raw: Buffer): MimeNode {
  return node(raw, 0, raw.length, 0, 'text/plain');
}

/** Signed or encrypted content: any change breaks the signature or the decryption, so decoration never enters it. */
export function isSealed(n: MimeNode): boolean {
  return (
    n.contentType === 'multipart/signed' ||
    n.contentType === 'multipart/encrypted' ||
    n.contentType === 'application/pkcs7-mime' ||
    n.contentType === 'application/x-pkcs7-mime'
  );
}

/** The line break the message uses (CRLF unless its header block uses bare LF). */
export function eolOf(raw: Buffer): string {
  const lf = raw.indexOf(0x0a);
  return lf > 0 && raw[lf - 1] !== 0x0d ? '\n' : '\r\n';
}

/**
 * The byte range [from, to) that holds child `i` of a multipart node together with the delimiter line in front
 * of it, so removing the range removes the part and leaves the rest of the multipart intact.
 */
export function childRange(raw: Buffer, parent: MimeNode, i: number): [number, number] {
  const child = parent.children[i] as MimeNode;
  const delimiter = `--${parent.params.boundary}`;
  const from = raw.lastIndexOf(delimiter, child.start, 'latin1');
  const next = raw.indexOf(delimiter, child.end, 'latin1');
  return [from < 0 ? child.start : from, next < 0 || next > parent.end ? child.end : next];
}

/** The offset of the closing delimiter of a multipart node (where a new last part goes), or -1. */
export function closingDelimiter(raw: Buffer, n: MimeNode): number {
  const delimiter = `--${n.params.boundary}--`;
  const at = raw.lastIndexOf(delimiter, n.end, 'latin1');
  return at >= n.bodyStart ? at : -1;
}
