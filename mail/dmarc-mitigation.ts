// DMARC mitigation (Mailman 3's dmarc_mitigate_action): a list changes every post (list headers at least),
// which breaks the author's DKIM signature, so mail From a domain whose DMARC policy is quarantine or reject
// would be refused by members' providers. The list either rewrites From to itself or wraps the post.
import { Headers } from '@zone-eu/mailsplit';
import libmime from 'libmime';
import MimeNode from 'nodemailer/lib/mime-node';
import type { AuthSummary } from './authenticity.js';
import { readFacts, splitHeaderBlock } from './message.js';
import type { DmarcMitigateAction, ListSettings } from './settings.js';

export type DmarcPolicy = 'none' | 'quarantine' | 'reject';

/** The policy governing a From domain and the domain whose record gave it (the organizational one when it fell back). */
export interface PolicyFinding {
  domain: string;
  /** null: it could not be found out (DNS failure). */
  policy: DmarcPolicy | null;
}

/** A p= or sp= value as receivers read it; anything else counts as no policy (RFC 7489 §6.6.3). */
export function policyWord(value: string | null | undefined): DmarcPolicy {
  const v = (value ?? '').trim().toLowerCase();
  return v === 'quarantine' || v === 'reject' ? v : 'none';
}

export function fromDomainOf(address: string | null): string | null {
  const at = address?.lastIndexOf('@') ?? -1;
  return address && at > 0 ? address.slice(at + 1).toLowerCase() : null;
}

/**
 * The policy for `fromDomain` from the verification summary, when it speaks for that domain: mailauth looks up
 * _dmarc.<domain>, falls back to the organizational domain (applying its sp=), and records the organizational
 * domain. undefined when the summary cannot say (not verified, another From, or a DNS failure).
 */
export function policyFromAuth(auth: AuthSummary | null | undefined, fromDomain: string | null): PolicyFinding | undefined {
  if (!auth || auth.error || !fromDomain) return undefined;
  const org = auth.dmarc.fromDomain?.toLowerCase();
  if (!org || (fromDomain !== org && !fromDomain.endsWith(`.${org}`))) return undefined;
  if (auth.dmarc.result === 'temperror') return { domain: org, policy: null };
  if (auth.dmarc.result === 'permerror') return undefined;
  return { domain: org, policy: auth.dmarc.result === 'none' && !auth.dmarc.policy ? 'none' : policyWord(auth.dmarc.policy) };
}

export type AppliedMitigation = 'munge_from' | 'wrap_message';

/**
 * What acceptance does for this policy: munge or wrap when the domain asks for quarantine or reject (or it
 * is unknown: munging costs little, a refused post costs a lot), or for every post when unconditional.
 * reject and discard are decided by the dmarc-mitigation rule at classification, not here.
 */
export function mitigationFor(settings: Pick<ListSettings, 'dmarc_mitigate_action' | 'dmarc_mitigate_unconditionally'>, finding: PolicyFinding | undefined): AppliedMitigation | null {
  const action: DmarcMitigateAction = settings.dmarc_mitigate_action;
  if (action !== 'munge_from' && action !== 'wrap_message') return null;
  if (settings.dmarc_mitigate_unconditionally) return action;
  if (!finding) return null;
  return finding.policy === 'none' ? null : action;
}

export interface MitigationContext {
  /** The list's posting address: the new From. */
  list: string;
  /** "Alice via <displayName>". */
  displayName: string;
  /** wrap_message: a text part before the original (dmarc_wrapped_message_text); empty for none. */
  wrappedText?: string;
}

/** A display name as a phrase: quoted when ASCII, RFC 2047 encoded words otherwise. */
function phrase(text: string): string {
  const flat = text.replace(/[\r\n\t]+/g, ' ').trim();
  // eslint-disable-next-line no-control-regex
  if (/^[\x20-\x7e]*$/.test(flat)) return `"${flat.replace(/(["\\])/g, '\\$1')}"`;
  return libmime.encodeWord(flat, 'Q', 52);
}

/** "Alice via dev" — the author's name, else the local part of the address (a full address in a name looks like phishing). */
export function viaName(raw: Buffer, displayName: string): string {
  const facts = readFacts(raw);
  const who = facts.fromName || (facts.from ?? '').split('@')[0] || 'someone';
  return `${who} via ${displayName}`;
}

function valueOf(line: string): string {
  return line.slice(line.indexOf(':') + 1).replace(/^[ \t]+/, '');
}

/**
 * munge_from, as Mailman does it: From becomes "Alice via dev" <dev@…>; the original From goes into
 * Reply-To, or into Cc when the post has a Reply-To already (so replies still reach the author). Every other
 * header line and the body keep their bytes.
 */
export function mungeFrom(raw: Buffer, ctx: MitigationContext): Buffer {
  const { header, body } = splitHeaderBlock(raw);
  const headers = new Headers(header);
  const lines = headers.getList();
  const fromIndex = lines.findIndex((l) => l.key === 'from');
  if (fromIndex < 0) return raw;
  const original = valueOf((lines[fromIndex] as { line: string }).line);
  const from = libmime.foldLines(`From: ${phrase(viaName(raw, ctx.displayName))} <${ctx.list}>`, 76, false);
  const hasReplyTo = lines.some((l) => l.key === 'reply-to');
  const rebuilt = new Headers(lines.filter((_, i) => i !== fromIndex));
  rebuilt.addFormatted('From', from, fromIndex);
  if (!hasReplyTo) {
    rebuilt.addFormatted('Reply-To', `Reply-To: ${original}`, fromIndex + 1);
  } else {
    const all = rebuilt.getList();
    const cc = all.findIndex((l) => l.key === 'cc');
    if (cc < 0) {
      rebuilt.addFormatted('Cc', `Cc: ${original}`, fromIndex + 1);
    } else {
      const line = (all[cc] as { line: string }).line.replace(/[\r\n]+$/, '');
      const withAuthor = new Headers(all.filter((_, i) => i !== cc));
      withAuthor.addFormatted('Cc', `${line},\r\n ${original}`, cc);
      return Buffer.concat([withAuthor.build(), body]);
    }
  }
  return Buffer.concat([rebuilt.build(), body]);
}

/** Headers the wrapper carries over from the decorated post (Mailman's KEEPERS, plus Cc and Message-ID for threading). */
const KEPT = /^(to|cc|subject|date|message-id|in-reply-to|references|precedence|archived-at|x-beenthere|x-listflow-.*|list-.*)$/;

/**
 * wrap_message: a new message From the list (munged as above) whose body is the original post, byte for byte,
 * as a message/rfc822 part — its DKIM signature still verifies there. `decorated` gives the outer headers
 * (list headers, subject), `original` is what is wrapped.
 */
export async function wrapMessage(decorated: Buffer, original: Buffer, ctx: MitigationContext): Promise<Buffer> {
  const lines = new Headers(splitHeaderBlock(decorated).header).getList();
  const fromLine = lines.find((l) => l.key === 'from');
  const replyTo = lines.find((l) => l.key === 'reply-to');
  const out: { key: string; line: string }[] = [];
  const add = (name: string, value: string) => out.push({ key: name.toLowerCase(), line: `${name}: ${value.replace(/[\r\n]+$/, '')}` });
  add('From', libmime.foldLines(`From: ${phrase(viaName(decorated, ctx.displayName))} <${ctx.list}>`, 76, false).slice(6));
  if (fromLine) add('Reply-To', valueOf((replyTo ?? fromLine).line));
  let ccDone = false;
  for (const l of lines.filter((h) => KEPT.test(h.key))) {
    let value = valueOf(l.line);
    if (l.key === 'cc' && fromLine && replyTo && !ccDone) {
      value = `${value.replace(/[\r\n]+$/, '')},\r\n ${valueOf(fromLine.line)}`;
      ccDone = true;
    }
    add(l.line.slice(0, l.line.indexOf(':')).trim(), value);
  }
  if (fromLine && replyTo && !ccDone) add('Cc', valueOf(fromLine.line));
  // nodemailer's MimeNode (MailComposer's engine) builds the MIME structure only: it re-formats address fields,
  // Date and References and re-cases names whatever it is told, so the header lines are spliced in as they are.
  // Always multipart/mixed, as Mailman's wrapper, with or without the explaining text.
  const root = new MimeNode('multipart/mixed');
  const text = ctx.wrappedText?.trim();
  if (text) root.createChild('text/plain; charset=utf-8').setContent(`${text}\n`);
  const part = root.createChild('message/rfc822');
  part.setHeader('Content-Disposition', 'inline');
  // RFC 2046 §5.2.1: only 7bit, 8bit or binary, and the original's bytes are never re-encoded.
  part.setHeader('Content-Transfer-Encoding', original.some((b) => b > 0x7f) ? '8bit' : '7bit');
  part.setContent(original);
  const built = splitHeaderBlock(await root.build());
  const headers = new Headers(built.header);
  for (const h of out) headers.remove(h.key);
  out.forEach((h, i) => headers.addFormatted(h.key, h.line, i));
  return Buffer.concat([headers.build(), built.body]);
}

/** Applies the chosen mitigation; acceptance calls this right after decorating. */
export async function applyDmarcMitigation(decorated: Buffer, original: Buffer, which: AppliedMitigation | null, ctx: MitigationContext): Promise<Buffer> {
  if (which === 'munge_from') return mungeFrom(decorated, ctx);
  if (which === 'wrap_message') return wrapMessage(decorated, original, ctx);
  return decorated;
}
