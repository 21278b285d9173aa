// Posts the benchmark sends: a plain 2 KB message with a unique Message-ID, sent over SMTP to the ingress.
import { randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { Db } from '../store/db.js';
import { createList, updateSettings } from '../store/lists.js';
import { addMembers } from '../store/members.js';
import type { ListSettings } from '../mail/settings.js';

/** A message of about `size` bytes (headers and body), distinct from every other one by its Message-ID. */
export function benchMessage(from: string, to: string, subject: string, size = 2048): { raw: Buffer; messageId: string } {
  const messageId = `${randomBytes(8).toString('hex')}@bench.example`;
  const header = [
    `From: Bench Poster <${from}>`,
    `To: ${to}`,
    `Subject: ${subject}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${messageId}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    '',
  ].join('\r\n');
  const line = 'The quick brown fox jumps over the lazy dog while the list fans out.\r\n';
  let body = '';
  while (header.length + body.length + line.length <= size) body += line;
  return { raw: Buffer.from(header + body), messageId };
}

/** Sends raw bytes over one SMTP connection; resolves with the 250 reply and the moment it arrived. */
export async function sendRaw(port: number, from: string, to: string, raw: Buffer): Promise<{ response: string; at: number }> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, name: 'bench.example' });
  try {
    const info = await transport.sendMail({ envelope: { from, to: [to] }, raw });
    return { response: info.response, at: performance.now() };
  } finally {
    transport.close();
  }
}

/** The workflow ID ingress names in its 250 reply ("queued as <id>"). */
export function queuedId(response: string): string {
  const m = /queued as (\S+)/.exec(response);
  if (!m?.[1]) throw new Error(`no workflow ID in the ingress reply: ${response}`);
  return m[1];
}

/** Member addresses m0000000@members.example … (the first one posts). */
export function memberAddresses(count: number, domain = 'members.example'): string[] {
  return Array.from({ length: count }, (_, i) => `m${String(i).padStart(7, '0')}@${domain}`);
}

/** Creates a list with `members` members (loaded with addMembers) and the given settings. */
export async function createBenchList(db: Db, address: string, members: string[], settings: Partial<ListSettings> = {}): Promise<number> {
  const list = await createList(db, address, 'Bench');
  await addMembers(db, list.id, members);
  await updateSettings(db, address, settings);
  return list.id;
}
