// Finding the approval pseudo-header ("Approved: <secret>" as the first non-blank line of the first text
// part). One function serves both the approved rule (through MessageFacts) and the removal before delivery,
// so a line the rule accepted is always a line that gets removed.
import { toText } from './mime.js';

/** The headers Mailman 3 reads (and removes before delivery). */
export const APPROVAL_HEADERS = ['approved', 'approve', 'x-approved', 'x-approve'];
const APPROVAL_LINE = /^\s*(?:x-)?approved?\s*:(.*)$/i;

export interface ApprovalLine {
  /** Byte offsets in the decoded part: the line starts at `start`; `cut` is past it and one blank line after it. */
  start: number;
  cut: number;
  secret: string;
}

/** Control characters (NUL, a bare CR…) count as spaces, as they do in every reason and fact. */
function visible(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, ' ');
}

/** In the transfer-decoded bytes of a text part; lines end at LF only. Null when the first line is no approval. */
export function findApprovalLine(decoded: Buffer, charset: string): ApprovalLine | null {
  let pos = 0;
  while (pos < decoded.length) {
    const nl = decoded.indexOf(0x0a, pos);
    const end = nl < 0 ? decoded.length : nl + 1;
    const bytes = decoded.subarray(pos, end);
    // Looked at as latin1 first: "Approved:" is ASCII in every charset this can apply to.
    const ascii = visible(bytes.toString('latin1'));
    if (ascii.trim() === '') {
      pos = end;
      continue;
    }
    if (!APPROVAL_LINE.test(ascii)) return null;
    const m = APPROVAL_LINE.exec(visible(toText(bytes, charset)));
    const secret = (m?.[1] ?? '').trim();
    if (!secret) return null;
    let cut = end;
    const next = decoded.indexOf(0x0a, cut);
    if (next >= 0 && visible(decoded.subarray(cut, next + 1).toString('latin1')).trim() === '') cut = next + 1;
    return { start: pos, cut, secret };
  }
  return null;
}
