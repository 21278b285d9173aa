// Bounce fixtures with this test's addresses filled in, sent to a list's -bounces address as an MTA would.
import { randomBytes } from 'node:crypto';
import { listSubAddress } from '../../mail/address.js';
import { fixture } from './fixtures.js';
import { sendRaw } from './stack.js';

export interface BounceVars {
  list: string;
  member?: string;
  /** The VERP token of the return path the bounce answers (-bounces+TOKEN@), if any. */
  verp?: string;
}

/** test/fixtures/bounces/processing/<name>, placeholders replaced, CRLF line ends, a unique ID (so each send is new mail). */
export function bounceMessage(name: string, vars: BounceVars): { raw: Buffer; to: string } {
  const to = listSubAddress(vars.list, 'bounces', vars.verp);
  const id = randomBytes(6).toString('hex');
  const text = fixture(`bounces/processing/${name}`)
    .toString('utf8')
    .replaceAll('{{BOUNCES}}', to)
    .replaceAll('{{LIST}}', vars.list)
    .replaceAll('{{MEMBER}}', vars.member ?? 'nobody@members.example')
    .replaceAll('{{ID}}', id)
    .replace(/\r?\n/g, '\r\n');
  return { raw: Buffer.from(text, 'utf8'), to };
}

/** Sends a bounce with a null return path, as MTAs do; resolves with ingress's reply. */
export async function sendBounce(smtpPort: number, name: string, vars: BounceVars, envelopeFrom = ''): Promise<string> {
  const { raw, to } = bounceMessage(name, vars);
  return sendRaw(smtpPort, envelopeFrom, [to], raw);
}
