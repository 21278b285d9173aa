// The DNS resolver listflow gives mailauth, and the summary of a real verification, against DNS servers on loopback.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { authenticate, sealMessage } from 'mailauth';
import { createDnsResolver, withBudget } from '../../activities/dns.js';
import { summarize } from '../../mail/authenticity.js';
import { startDnsServer, startSilentDnsServer, type DnsServer } from '../helpers/dns-server.js';
import { dkimKey, message, signed, type SigningKey } from '../helpers/sender-domains.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'answered';
  } catch (err) {
    return String((err as { code?: string }).code);
  }
}

describe('the DNS resolver', () => {
  let dns: DnsServer;
  let silent: DnsServer;
  before(async () => {
    dns = await startDnsServer({ 'sender.test': { TXT: ['v=spf1 -all', 'x'.repeat(600)], A: ['192.0.2.7'] } });
    silent = await startSilentDnsServer();
  });
  after(async () => {
    await dns?.close();
    await silent?.close();
  });

  it('asks the configured server and answers as node does (TXT strings joined per record)', async () => {
    const resolve = createDnsResolver({ servers: [dns.address] });
    const txt = (await resolve('sender.test', 'TXT')) as string[][];
    assert.deepEqual(txt.map((r) => r.join('')).sort(), ['v=spf1 -all', 'x'.repeat(600)]);
    assert.deepEqual(await resolve('sender.test', 'A'), ['192.0.2.7']);
    assert.ok(dns.queries.includes('TXT sender.test'));
  });

  it('fails with ENOTFOUND for a name the zone lacks and ENODATA for a type it lacks, as mailauth expects', async () => {
    const resolve = createDnsResolver({ servers: [dns.address] });
    assert.equal(await codeOf(resolve('nope.test', 'TXT')), 'ENOTFOUND');
    assert.equal(await codeOf(resolve('sender.test', 'MX')), 'ENODATA');
  });

  it('gives up on a server that never answers with ETIMEOUT, within its limit', async () => {
    const resolve = createDnsResolver({ servers: [silent.address], timeoutMs: 800 });
    const started = Date.now();
    assert.equal(await codeOf(resolve('sender.test', 'TXT')), 'ETIMEOUT');
    const took = Date.now() - started;
    assert.ok(took >= 500 && took < 1500, `took ${took} ms`);
    assert.ok(silent.queries.includes('TXT sender.test'));
  });

  it("stops asking once a message's budget is spent", async () => {
    const resolve = withBudget(createDnsResolver({ servers: [silent.address], timeoutMs: 5000 }), 300);
    const started = Date.now();
    assert.equal(await codeOf(resolve('a.test', 'TXT')), 'ETIMEOUT');
    assert.equal(await codeOf(resolve('b.test', 'TXT')), 'ETIMEOUT');
    assert.ok(Date.now() - started < 1000, 'the second query failed at once');
  });
});

describe('the summary of a verification', () => {
  let dns: DnsServer;
  let key: SigningKey;
  let forwarder: SigningKey;
  before(async () => {
    const k = dkimKey('sender.test');
    const f = dkimKey('forwarder.test', 'arc');
    key = k.key;
    forwarder = f.key;
    dns = await startDnsServer({
      'sender.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
      ...k.record,
      ...f.record,
      '_dmarc.sender.test': { TXT: ['v=DMARC1; p=quarantine; adkim=s'] },
    });
  });
  after(async () => dns?.close());

  const verify = (raw: Buffer, ip = '127.0.0.1') =>
    authenticate(raw, { ip, helo: 'mx.sender.test', sender: 'alice@sender.test', mta: 'lists.example', resolver: createDnsResolver({ servers: [dns.address] }), disableBimi: true });

  it('is compact, JSON-safe, and says which domain aligned', async () => {
    const raw = await signed(await message({ from: 'alice@sender.test', to: 'dev@lists.example' }), key);
    const s = summarize(await verify(raw), 'lists.example');
    assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
    assert.ok(JSON.stringify(s).length < 2000, `${JSON.stringify(s).length} bytes`);
    assert.deepEqual(s.spf, { result: 'pass', domain: 'sender.test', clientIp: '127.0.0.1', helo: 'mx.sender.test' });
    assert.deepEqual(s.dkim, { result: 'pass', signatures: [{ domain: 'sender.test', selector: 'sel', result: 'pass', aligned: true }], more: 0 });
    assert.deepEqual(s.dmarc, { result: 'pass', fromDomain: 'sender.test', policy: 'quarantine', spfAligned: 'sender.test', dkimAligned: 'sender.test' });
    assert.equal(s.arc.result, 'none');
    assert.match(s.header, /^lists\.example;\r\n dkim=pass header\.i=@sender\.test header\.s=sel .*;\r\n spf=pass .*;\r\n dmarc=pass \(p=QUARANTINE/);
  });

  it('reports SPF from the wrong address as fail, a changed signed header as dkim=fail, a changed body as neutral', async () => {
    const raw = await signed(await message({ from: 'alice@sender.test', to: 'dev@lists.example', subject: 'original', text: 'original body\n' }), key);
    const subject = summarize(await verify(Buffer.from(raw.toString('latin1').replace('Subject: original', 'Subject: altered'), 'latin1'), '198.51.100.9'), 'lists.example');
    assert.deepEqual([subject.spf.result, subject.dkim.result, subject.dmarc.result], ['fail', 'fail', 'fail']);
    assert.equal(subject.dmarc.dkimAligned, null);
    // mailauth calls a body hash mismatch neutral (RFC 6376 §6.3 leaves it to the verifier); it is still no pass.
    const body = summarize(await verify(Buffer.from(raw.toString('latin1').replace('original body', 'altered body'), 'latin1')), 'lists.example');
    assert.equal(body.dkim.result, 'neutral');
    assert.match(body.header, /dkim=neutral \(body hash did not verify\)/);
  });

  it('verifies an ARC set a forwarder sealed', async () => {
    const raw = await signed(await message({ from: 'alice@sender.test', to: 'dev@lists.example' }), key);
    const seal = await sealMessage(raw, {
      signingDomain: forwarder.domain,
      selector: forwarder.selector,
      privateKey: forwarder.privateKey,
      // @ts-expect-error mailauth's ARCSealOptions omit the fields createSeal reads for the first set (cv, authResults)
      cv: 'none',
      authResults: 'forwarder.test; dkim=pass header.d=sender.test; spf=pass smtp.mailfrom=alice@sender.test',
    });
    assert.match(seal.toString(), /^ARC-Seal: i=1;/m);
    const s = summarize(await verify(Buffer.concat([seal, raw])), 'lists.example');
    assert.deepEqual(s.arc, { result: 'pass', instance: 1 });
    assert.match(s.header, /arc=pass \(i=1/);
  });

  it('keeps the first ten of a flood of signatures, and counts the rest', async () => {
    let raw = await message({ from: 'alice@sender.test', to: 'dev@lists.example' });
    for (let i = 0; i < 14; i++) raw = await signed(raw, key);
    const s = summarize(await verify(raw), 'lists.example');
    assert.equal(s.dkim.signatures.length, 10);
    assert.equal(s.dkim.more, 4);
    assert.equal(s.header.match(/dkim=/g)?.length, 10);
  });
});
