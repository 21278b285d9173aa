// `listflow domains …`: the DKIM key of each list domain, and the DNS record that publishes it.
import { defaultSelector, dkimDomain, dkimSelector, DkimKeyError, generateDkimKey, recordName, zoneLine, type DkimAlgorithm } from '../mail/dkim-keys.js';
import { allDkimKeys, getDkimKey, putDkimKey } from '../store/dkim-keys.js';
import { listAddresses } from '../store/lists.js';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { json, when } from './output.js';

function checked<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof DkimKeyError) throw new CliError(err.message);
    throw err;
  }
}

export async function domainsDkim(
  ctx: Context,
  domainText: string,
  opts: { selector?: string; algorithm?: string; bits?: string; force?: boolean },
): Promise<void> {
  const domain = checked(() => dkimDomain(domainText));
  const selector = checked(() => dkimSelector(opts.selector ?? defaultSelector()));
  const algorithm = (opts.algorithm ?? 'rsa').toLowerCase();
  if (algorithm !== 'rsa' && algorithm !== 'ed25519') throw new CliError(`--algorithm must be rsa or ed25519, not "${opts.algorithm}"`);
  if (opts.bits !== undefined && algorithm === 'ed25519') throw new CliError('--bits is for rsa keys (Ed25519 keys have one size)');
  const bits = opts.bits === undefined ? 2048 : Number(opts.bits);
  const db = await ctx.db();
  const existing = await getDkimKey(db, domain);
  if (existing && !opts.force) {
    throw new CliError(
      `${domain} has a DKIM key already (selector ${existing.selector}, made ${when(existing.createdAt)}); --force replaces it\n` +
        'replacing breaks the signatures of mail in transit: give the new key a new --selector and publish its record first',
    );
  }
  const key = checked(() => generateDkimKey(domain, selector, algorithm as DkimAlgorithm, bits));
  // Without --force the insert must not overwrite a key another command stored meanwhile.
  if (!(await putDkimKey(db, key, !!opts.force))) throw new CliError(`${domain} got a DKIM key from elsewhere meanwhile; --force replaces it`);
  ctx.out(`${existing ? 'replaced' : 'made'} the ${algorithm === 'rsa' ? `${bits}-bit RSA` : 'Ed25519'} DKIM key of ${domain} (selector ${selector})\n`);
  ctx.out(`publish this DNS record; list mail from ${domain} is signed from now on (running workers pick the key up within a minute):\n\n`);
  ctx.out(`${zoneLine(key)}\n`);
  const lists = (await listAddresses(db)).filter((a) => a.toLowerCase().endsWith(`@${domain}`));
  if (lists.length === 0) ctx.warn(`no list is on ${domain} yet: its mail will be signed once one is`);
  if (algorithm === 'ed25519') ctx.warn('ARC sealing needs an RSA key: posts are DKIM-signed but not ARC-sealed with an Ed25519 key');
}

export async function domainsList(ctx: Context, opts: { json?: boolean }): Promise<void> {
  const keys = await allDkimKeys(await ctx.db());
  // The private key is never shown: only what DNS publishes.
  const shown = keys.map((k) => ({ domain: k.domain, selector: k.selector, algorithm: k.algorithm, createdAt: k.createdAt, name: recordName(k), record: zoneLine(k) }));
  if (opts.json) {
    ctx.out(json(shown));
    return;
  }
  if (shown.length === 0) {
    ctx.out('no domain has a DKIM key (listflow domains dkim <domain> makes one)\n');
    return;
  }
  for (const k of shown) ctx.out(`${k.domain}  selector ${k.selector}  ${k.algorithm}  made ${when(k.createdAt)}\n  ${k.record}\n`);
}
