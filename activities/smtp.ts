// The pooled SMTP transport to the smarthost, and how one SMTP transaction's outcome is read.
import nodemailer, { type Transporter } from 'nodemailer';
import { addressKey } from '../mail/address.js';

export type SmtpTransport = Transporter;

export function createSmtpTransport(smarthost: string, connections: number, hostname: string): SmtpTransport {
  const url = new URL(smarthost);
  return nodemailer.createTransport({
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port || (url.protocol === 'smtps:' ? 465 : 25)),
    secure: url.protocol === 'smtps:',
    name: hostname,
    pool: true,
    maxConnections: connections,
    maxMessages: Infinity,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 120_000,
    ...(url.username ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } } : {}),
  });
}

export interface Outcome {
  sent: string[];
  /** Permanent failures: 5xx per recipient. */
  failed: { recipient: string; code: number | null; response: string }[];
  /** Temporary failures: 4xx, refused or dropped connections. */
  deferred: { recipient: string; code: number | null; response: string }[];
}

interface SmtpError extends Error {
  responseCode?: number;
  response?: string;
  recipient?: string;
  rejectedErrors?: SmtpError[];
  code?: string;
}

interface SendInfo {
  accepted?: (string | { address: string })[];
  rejectedErrors?: SmtpError[];
}

function addr(a: string | { address: string }): string {
  return typeof a === 'string' ? a : a.address;
}

/**
 * Sends one SMTP transaction and sorts every recipient into sent, failed or deferred.
 * Never throws for SMTP-level trouble: a whole-transaction error applies to every recipient.
 */
export async function sendTransaction(transport: SmtpTransport, from: string, recipients: string[], raw: Buffer): Promise<Outcome> {
  const outcome: Outcome = { sent: [], failed: [], deferred: [] };
  const byKey = new Map(recipients.map((r) => [addressKey(r), r]));
  const original = (r: string) => byKey.get(addressKey(r)) ?? r;
  let info: SendInfo;
  try {
    info = (await transport.sendMail({ envelope: { from, to: recipients }, raw })) as SendInfo;
  } catch (e) {
    const err = e as SmtpError;
    if (err.rejectedErrors && err.rejectedErrors.length > 0) {
      info = { accepted: [], rejectedErrors: err.rejectedErrors };
    } else {
      const code = err.responseCode ?? null;
      const response = (err.response ?? err.message).slice(0, 500);
      const into = code !== null && code >= 500 ? outcome.failed : outcome.deferred;
      for (const r of recipients) into.push({ recipient: r, code, response });
      return outcome;
    }
  }
  for (const a of info.accepted ?? []) outcome.sent.push(original(addr(a)));
  for (const err of info.rejectedErrors ?? []) {
    const code = err.responseCode ?? null;
    const entry = { recipient: original(err.recipient ?? ''), code, response: (err.response ?? err.message).slice(0, 500) };
    (code !== null && code >= 500 ? outcome.failed : outcome.deferred).push(entry);
  }
  // Anything the server neither accepted nor refused (should not happen) is retried, never assumed sent.
  const seen = new Set([...outcome.sent, ...outcome.failed.map((f) => f.recipient), ...outcome.deferred.map((d) => d.recipient)].map(addressKey));
  for (const r of recipients) {
    if (!seen.has(addressKey(r))) outcome.deferred.push({ recipient: r, code: null, response: 'no reply for this recipient' });
  }
  return outcome;
}
