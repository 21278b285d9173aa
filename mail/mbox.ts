// mbox files: reading mboxo/mboxrd exports (Mailman 2.1, HyperKitty, mlmmj) and writing mboxrd.
// Lines are handled as latin1 strings, one character per byte, so message bytes pass through unchanged.

export interface MboxEntry {
  /** 1-based position in the file. */
  index: number;
  /** 1-based line of its From_ line. */
  line: number;
  envelopeSender: string | null;
  envelopeDate: string | null;
  /** The message with LF line ends and ">From " quoting undone. */
  raw: Buffer;
  /** Why it cannot be archived, or null. */
  problem: string | null;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** asctime in UTC, as the From_ line has it: "Sun Nov  1 14:22:14 2026". */
export function asctime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

/** "[Www ]Mmm dd hh:mm[:ss] [zone ]yyyy": a From_ line's date; read as UTC (mbox writers rarely say otherwise). */
const FROM_DATE = /^(?:[A-Z][a-z]{2},? +)?([A-Z][a-z]{2}) +(\d{1,2}) +(\d{1,2}):(\d{2})(?::(\d{2}))?(?: +[A-Z+-][\w+-]*)? +(\d{4})\s*$/;

function parseFromLine(line: string): { sender: string; date: string | null } | null {
  const m = /^From (\S+) +(.*)$/.exec(line.replace(/\r$/, ''));
  if (!m) return null;
  const d = FROM_DATE.exec(m[2] as string);
  if (!d) return null;
  const month = MONTHS.indexOf(d[1] as string);
  if (month < 0) return null;
  const t = Date.UTC(Number(d[6]), month, Number(d[2]), Number(d[3]), Number(d[4]), Number(d[5] ?? 0));
  return { sender: m[1] as string, date: Number.isFinite(t) ? new Date(t).toISOString() : null };
}

/** A header line, or the start of a header block: "Name: value" (RFC 5322 field name). */
const HEADER_LINE = /^[!-9;-~]+:/;

/**
 * The messages of an mbox file. A From_ line starts a message only at the top of the file or after a blank line,
 * and only when it carries an asctime date, so a stray unquoted "From " in a Mailman 2.1 body stays in the body.
 */
export function splitMbox(data: Buffer): MboxEntry[] {
  const lines = data.toString('latin1').split('\n');
  // The newline that ends the file is not a line of its own.
  if (lines.at(-1) === '') lines.pop();
  const starts: number[] = [];
  lines.forEach((l, i) => {
    if (l.startsWith('From ') && (i === 0 || lines[i - 1] === '' || lines[i - 1] === '\r') && parseFromLine(l)) starts.push(i);
  });
  return starts.map((start, n) => {
    const end = starts[n + 1] ?? lines.length;
    const from = parseFromLine(lines[start] as string);
    const body = lines.slice(start + 1, end).map((l) => l.replace(/\r$/, '').replace(/^>(>*From )/, '$1'));
    // The blank line before the next From_ line separates; it is not part of the message.
    if (body.at(-1) === '') body.pop();
    const text = body.length ? `${body.join('\n')}\n` : '';
    let problem: string | null = null;
    if (!text.trim()) problem = 'empty message';
    else if (!HEADER_LINE.test(body[0] as string)) problem = 'no header block (the first line is not a header)';
    else if (!/\n\n/.test(text) && !body.every((l) => HEADER_LINE.test(l) || /^[ \t]/.test(l))) problem = 'no blank line after the header block';
    return { index: n + 1, line: start + 1, envelopeSender: from?.sender ?? null, envelopeDate: from?.date ?? null, raw: Buffer.from(text, 'latin1'), problem };
  });
}

/** Whether the data begins as an mbox file does (possibly after blank lines). */
export function looksLikeMbox(data: Buffer): boolean {
  return /^(?:\r?\n)*From \S/.test(data.subarray(0, 1024).toString('latin1'));
}

/** One mboxrd entry: the From_ line, the message with CRLF made LF and every ">*From " line quoted once more, a blank line. */
export function mboxrdEntry(raw: Buffer, sender: string, date: Date): Buffer {
  let text = raw.toString('latin1').replace(/\r\n/g, '\n');
  if (!text.endsWith('\n')) text += '\n';
  const quoted = text.replace(/^(>*From )/gm, '>$1');
  const who = sender.replace(/\s+/g, '') || 'MAILER-DAEMON';
  return Buffer.from(`From ${who} ${asctime(date)}\n${quoted}\n`, 'latin1');
}

/** A message as the store keeps it: CRLF line ends, as it would have come over SMTP. */
export function toCrlf(raw: Buffer): Buffer {
  return Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}
