// Reading digests as a mail client would: the parts of a MIME multipart (RFC 2046 delimiters, byte for
// byte), the posts a digest member should have, and the digest workflow's status.
import type { Client } from '@temporalio/client';
import { splitHeaderBlock } from '../../mail/message.js';
import type { Db } from '../../store/db.js';
import { setDeliveryMode, type DeliveryMode } from '../../store/members.js';
import { getMessage } from '../../store/messages.js';
import { digestStatusQuery, digestWorkflowId, type DigestStatus } from '../../workflows/messages.js';

/** A header's value (unfolded) from a header block, or '' when absent. */
export function headerOf(raw: Buffer, name: string): string {
  const text = splitHeaderBlock(raw).header.toString('latin1').replace(/\r?\n[ \t]+/g, ' ');
  const m = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(text);
  return m?.[1]?.trim() ?? '';
}

export function boundaryOf(raw: Buffer): string {
  const b = /boundary="?([^";]+)"?/i.exec(headerOf(raw, 'Content-Type'))?.[1];
  if (!b) throw new Error(`no boundary in ${headerOf(raw, 'Content-Type')}`);
  return b;
}

/**
 * The body parts of a multipart entity, each as its bytes (headers and body). A delimiter is CRLF "--"
 * boundary at the start of a line; the CRLF before it belongs to the delimiter, not to the part.
 */
export function multipartParts(raw: Buffer): Buffer[] {
  const { body } = splitHeaderBlock(raw);
  const boundary = boundaryOf(raw);
  // The preamble may be empty, so the first delimiter can come without a CRLF before it.
  const text = Buffer.concat([Buffer.from('\r\n'), body]);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const parts: Buffer[] = [];
  let at = text.indexOf(delimiter);
  if (at < 0) throw new Error(`no delimiter --${boundary}`);
  for (;;) {
    const afterDelimiter = at + delimiter.length;
    if (text.subarray(afterDelimiter, afterDelimiter + 2).toString() === '--') return parts;
    const lineEnd = text.indexOf('\r\n', afterDelimiter);
    const next = text.indexOf(delimiter, lineEnd);
    if (next < 0) throw new Error(`no close delimiter --${boundary}--`);
    parts.push(text.subarray(lineEnd + 2, next));
    at = next;
  }
}

export function partBody(part: Buffer): Buffer {
  return splitHeaderBlock(part).body;
}

/** The decorated message of a post: what regular members got, and what a MIME digest must carry unchanged. */
export async function decoratedPost(db: Db, workflowId: string): Promise<Buffer> {
  const { rows } = await db.query<{ decorated_sha256: string }>('SELECT decorated_sha256 FROM posts WHERE workflow_id = $1', [workflowId]);
  if (!rows[0]) throw new Error(`${workflowId} was not accepted`);
  return getMessage(db, rows[0].decorated_sha256);
}

export async function chooseDelivery(db: Db, list: string, address: string, mode: DeliveryMode): Promise<void> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM lists WHERE address = $1', [list]);
  if (!rows[0] || !(await setDeliveryMode(db, Number(rows[0].id), address, mode))) throw new Error(`${address} is not a member of ${list}`);
}

/** Polls the digest workflow's status until `done` holds. */
export async function digestUntil(client: Client, list: string, done: (s: DigestStatus) => boolean, what: string, timeoutMs = 30_000): Promise<DigestStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: DigestStatus | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await client.workflow.getHandle(digestWorkflowId(list)).query(digestStatusQuery);
      if (done(last)) return last;
    } catch (err) {
      // not started yet, or between two runs
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`the digest of ${list} never reached "${what}" (last: ${JSON.stringify(last)}${lastError ? `; ${String(lastError)}` : ''})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
