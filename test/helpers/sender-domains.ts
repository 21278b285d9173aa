// Test sender domains with real DNS records (SPF, a DKIM key made at test time, DMARC), and DKIM signing.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { dkimSign } from 'mailauth';
import nodemailer from 'nodemailer';
import type { Zone } from './dns-server.js';

export interface SigningKey {
  domain: string;
  selector: string;
  privateKey: string;
}

/** A key pair for `selector._domainkey.domain`: the private key to sign with, the TXT record to publish. */
export function dkimKey(domain: string, selector = 'sel'): { key: SigningKey; record: Zone } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const p = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return {
    key: { domain, selector, privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
    record: { [`${selector}._domainkey.${domain}`]: { TXT: [`v=DKIM1; k=rsa; p=${p}`] } },
  };
}

/** Prepends a DKIM-Signature made with `key` (as the sender's MTA would). */
export async function signed(raw: Buffer, key: SigningKey): Promise<Buffer> {
  const one = { signingDomain: key.domain, selector: key.selector, privateKey: key.privateKey };
  // The signer reads only signatureData; mailauth's types ask for the top-level fields as well.
  const result = await dkimSign(raw, { ...one, signatureData: [one] });
  if (result.errors.length) throw result.errors[0];
  return Buffer.concat([Buffer.from(result.signatures), raw]);
}

/** A message as a mail program writes it, with a unique Message-ID so each one is a new post. */
export async function message(o: { from: string; to: string; subject?: string; text?: string; headers?: Record<string, string> }): Promise<Buffer> {
  // CRLF, as the message travels over SMTP, so what was signed and sent is what listflow receives.
  const info = await nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' }).sendMail({
    from: o.from,
    to: o.to,
    subject: o.subject ?? 'a post',
    text: o.text ?? 'Hello list.\n',
    messageId: `<${randomBytes(8).toString('hex')}@${o.from.split('@')[1] ?? 'sender.test'}>`,
    headers: o.headers,
  });
  return (info as unknown as { message: Buffer }).message;
}
