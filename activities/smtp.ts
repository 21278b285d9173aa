// The pooled SMTP transport to the smarthost, and how one SMTP transaction's outcome is read.
import { Readable } from 'node:stream';
import nodemailer, { type Transporter } from 'nodemailer';
import type MailMessage from 'nodemailer/lib/mailer/mail-message';
import MimeNode from 'nodemailer/lib/mime-node';
import SMTPPool from 'nodemailer/lib/smtp-pool';
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
 * Addresses nodemailer's envelope parsing leaves exactly as they are: an ASCII dot-atom local part and a
 * lower-case ASCII domain whose last label starts with a letter (so it cannot be read as an IPv4 number).
 */
const PLAIN_ADDRESS = /^[A-Za-z0-9_+=-]+(?:\.[A-Za-z0-9_+=-]+)*@(?:[a-z0-9-]+\.)*[a-z][a-z0-9-]*$/;

/** The envelope sendMail would build for `{ envelope: { from, to } }`. */
function envelopeOf(from: string, to: string[]): { from: string | false; to: string[] } {
  // The common case skips address parsing; the result is the same (duplicates dropped, order kept).
  if (PLAIN_ADDRESS.test(from) && to.every((r) => PLAIN_ADDRESS.test(r))) return { from, to: [...new Set(to)] };
  // Anything else gets nodemailer's own normalisation: IDN domains, quoting, case of domains.
  const { from: f, to: t } = new MimeNode('message/rfc822').setEnvelope({ from, to }).getEnvelope();
  return { from: f, to: t };
}

/** The bytes sendMail would stream for a raw message: as given, ending in a line break. */
function withFinalNewline(raw: Buffer): Buffer {
  const last = raw[raw.length - 1];
  if (last === 0x0a) return raw;
  return Buffer.concat([raw, Buffer.from(last === 0x0d ? '\n' : '\r\n')]);
}

/**
 * Hands one raw message to the transport's connection pool directly. sendMail builds a MailMessage and a
 * MIME tree for every call — about 0.2 ms of CPU for a raw message, several times what the SMTP exchange
 * costs — and per-recipient delivery sends the same bytes thousands of times. The pool (its connections,
 * reconnects, requeues and errors) is the same one sendMail uses, and it gets the same envelope and bytes;
 * only the per-call object building is skipped. The pool reads no more of `mail` than this.
 */
function sendPrepared(pool: SMTPPool, from: string, recipients: string[], raw: Buffer): Promise<SendInfo> {
  const envelope = envelopeOf(from, recipients);
  const body = withFinalNewline(raw);
  const mail = {
    data: {},
    message: {
      getEnvelope: () => envelope,
      messageId: () => '',
      getHeader: () => '',
      createReadStream: () => Readable.from([body], { objectMode: false }),
    },
  };
  return new Promise((resolve, reject) => {
    pool.send(mail as unknown as MailMessage<SMTPPool.SentMessageInfo>, (err, info) => (err ? reject(err) : resolve(info as SendInfo)));
  });
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
    const pool = transport.transporter;
    info = pool instanceof SMTPPool ? await sendPrepared(pool, from, recipients, raw) : ((await transport.sendMail({ envelope: { from, to: recipients }, raw })) as SendInfo);
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
