// Helpers for ingress tests: a second ingress on a stack with chosen parts broken, sending as an MTA sees it, and the operator's view of the store.
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import type { Client } from '@temporalio/client';
import nodemailer from 'nodemailer';
import type { IngressLimits } from '../../ingress/limits.js';
import { createIngress } from '../../ingress/server.js';
import { workflowIdFor, type IdKind } from '../../mail/ids.js';
import type { Db } from '../../store/db.js';
import { sha256Hex } from '../../store/messages.js';
import { mailStatusQuery, type MailStatus } from '../../workflows/messages.js';
import type { PostOptions, Stack } from './stack.js';
import { freePort } from '../../runtime/ports.js';

export { freePort };

export interface IngressOverrides {
  /** A Temporal client to start workflows with instead of the stack's (e.g. one whose connection is closed). */
  client?: Client;
  /** A database to store into instead of the stack's (e.g. a pool that was ended). */
  db?: Db;
  lmtp?: boolean;
  maxMessageBytes?: number;
  limits?: Partial<IngressLimits>;
  log?: (line: string) => void;
  tls?: { cert: string; key: string };
}

export interface ExtraIngress {
  port: number;
  close(): Promise<void>;
}

/** Another ingress for the stack's lists and task queues, on its own loopback port, with some parts swapped. */
export async function startIngress(stack: Stack, o: IngressOverrides = {}): Promise<ExtraIngress> {
  const server = createIngress({
    db: o.db ?? stack.db,
    client: o.client ?? stack.client,
    taskQueue: stack.taskQueue,
    deliveryTaskQueue: stack.deliveryTaskQueue,
    parallelBatches: 4,
    maxMessageBytes: o.maxMessageBytes ?? 10 * 1024 * 1024,
    lmtp: o.lmtp ?? false,
    hostname: 'listflow.test',
    ...(o.limits ? { limits: o.limits } : {}),
    ...(o.log ? { log: o.log } : {}),
    ...(o.tls ? { tls: o.tls } : {}),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A loopback port nothing listens on (taken and released at once). */

/**
 * A message as a mail program would write it, with a unique Message-ID so its bytes (and key) are its own.
 * Lines end in CRLF, as on the wire, so these are exactly the bytes ingress receives and hashes.
 */
export async function buildMessage(o: Omit<PostOptions, 'envelopeFrom'>): Promise<Buffer> {
  const mail = {
    from: o.from,
    to: Array.isArray(o.to) ? o.to : [o.to],
    subject: o.subject ?? 'a post',
    text: o.text ?? 'Hello list.\n',
    messageId: `<${randomBytes(8).toString('hex')}@sender.example>`,
    headers: o.headers,
  };
  return new Promise<Buffer>((resolve, reject) => {
    nodemailer.createTransport({ streamTransport: true, buffer: true }).sendMail(mail, (err, info) => {
      if (err) reject(err);
      else resolve(toWireLines((info as unknown as { message: Buffer }).message));
    });
  });
}

/** Bare LFs become CRLF, as SMTP transmits them. */
export function toWireLines(raw: Buffer): Buffer {
  return Buffer.from(raw.toString('binary').replace(/\r?\n/g, '\r\n'), 'binary');
}

/** What nodemailer reports about one transaction: the final reply and who was accepted or refused. */
export interface Delivery {
  response: string;
  accepted: string[];
  rejected: string[];
  rejectedErrors: SmtpFailure[];
}

/** nodemailer's error for a refused message or recipient. */
export interface SmtpFailure extends Error {
  responseCode?: number;
  response?: string;
  recipient?: string;
  rejectedErrors?: SmtpFailure[];
}

export interface Envelope {
  /** The return path; false for the null sender (MAIL FROM:<>). */
  from: string | false;
  to: string[];
  raw: Buffer;
  lmtp?: boolean;
  /** Declare this size with MAIL FROM … SIZE=. */
  size?: number;
}

/** Sends raw bytes as a sending MTA would and resolves with nodemailer's full report; rejects with its error. */
export async function deliver(port: number, e: Envelope): Promise<Delivery> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, lmtp: e.lmtp ?? false });
  try {
    const envelope = { from: e.from, to: e.to, ...(e.size !== undefined ? { size: e.size } : {}) };
    // nodemailer's Envelope type has no `false` or `size`, though both are documented and honoured.
    const info = (await transport.sendMail({ envelope: envelope as unknown as { from: string; to: string[] }, raw: e.raw })) as unknown as {
      response: string;
      accepted?: (string | { address: string })[];
      rejected?: (string | { address: string })[];
      rejectedErrors?: SmtpFailure[];
    };
    const plain = (a: string | { address: string }) => (typeof a === 'string' ? a : a.address);
    return {
      response: info.response,
      accepted: (info.accepted ?? []).map(plain),
      rejected: (info.rejected ?? []).map(plain),
      rejectedErrors: info.rejectedErrors ?? [],
    };
  } finally {
    transport.close();
  }
}

/** Sends and expects the send to fail; resolves with the error so its codes can be checked. */
export async function deliverExpectingFailure(port: number, e: Envelope): Promise<SmtpFailure> {
  let report: Delivery;
  try {
    report = await deliver(port, e);
  } catch (err) {
    return err as SmtpFailure;
  }
  throw new Error(`the server accepted the message: ${report.response}`);
}

/** The workflow ID ingress gives these bytes for this list: what a 250 reply names. */
export function expectedWorkflowId(kind: IdKind, list: string, raw: Buffer, detail?: string): string {
  return workflowIdFor(kind, list, sha256Hex(raw), detail);
}

/** What the operator sees in the store for one message: is it there, and which workflows were recorded for it. */
export async function storedFor(db: Db, raw: Buffer): Promise<{ messages: number; inbound: { workflowId: string; started: boolean }[] }> {
  const sha = sha256Hex(raw);
  const m = await db.query<{ n: string }>('SELECT count(*) AS n FROM messages WHERE sha256 = $1', [sha]);
  const i = await db.query<{ workflow_id: string; started: boolean }>(
    'SELECT workflow_id, started_at IS NOT NULL AS started FROM inbound WHERE sha256 = $1 ORDER BY workflow_id',
    [sha],
  );
  return { messages: Number(m.rows[0]?.n ?? 0), inbound: i.rows.map((r) => ({ workflowId: r.workflow_id, started: r.started })) };
}

/** True when Temporal has no workflow with this ID (describe answers NotFound). */
export async function workflowAbsent(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return false;
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return true;
    throw err;
  }
}

/** Polls the status query of a -request, -owner or -bounces workflow until it is in one of `states`. */
export async function waitForMailState(client: Client, workflowId: string, states: string[], timeoutMs = 30_000): Promise<MailStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: MailStatus | undefined;
  let lastError: Error | undefined;
  for (;;) {
    try {
      last = await client.workflow.getHandle(workflowId).query(mailStatusQuery);
      if (states.includes(last.state)) return last;
    } catch (err) {
      // not picked up by a worker yet: keep polling, and say why if it never answers
      lastError = err as Error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${workflowId} did not reach ${states.join('/')} within ${timeoutMs} ms (last: ${last ? `${last.state} — ${last.detail}` : lastError?.message ?? 'no answer'})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The database with a count of the queries made through `query()` (what a dictionary attack would cost). */
export function countingDb(db: Db): { db: Db; queries(): number } {
  let n = 0;
  const counted = new Proxy(db, {
    get(target, prop) {
      if (prop === 'query') {
        return (...args: unknown[]) => {
          n++;
          return (target.query as (...a: unknown[]) => unknown)(...args);
        };
      }
      const value: unknown = Reflect.get(target, prop);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { db: counted, queries: () => n };
}
