// The decoration pipeline over real fixtures: what members read (parsed back with mailparser) and, for every
// part decoration does not touch, the very same bytes as the poster sent.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { simpleParser } from 'mailparser';
import { readdirSync } from 'node:fs';
import { decorate, decorateReporting, DECORATION_PIPELINE } from '../../mail/decoration/pipeline.js';
import { preparePersonalization } from '../../mail/decoration/personalize.js';
import { prefixedSubject } from '../../mail/decoration/handlers/subject-prefix.js';
import { messageIdHash } from '../../mail/links.js';
import { leafParts } from '../../mail/mime.js';
import { splitHeaderBlock } from '../../mail/message.js';
import { defaultSettings, parseAssignments, type ListSettings } from '../../mail/settings.js';
import { runChain } from '../../mail/chain.js';
import { fixture } from '../helpers/fixtures.js';
import { input } from '../helpers/rule-input.js';

const LIST = 'dev@lists.example.org';

function ctx(settings: string[] = [], seq = 7) {
  const { changes, problems } = parseAssignments(settings);
  assert.deepEqual(problems, []);
  const s: ListSettings = { ...defaultSettings(), description: 'Developers', ...changes };
  return { list: LIST, displayName: 'dev', settings: s, seq, publicUrl: 'https://lists.example.org' };
}

const FOOTER = 'msg_footer=--\\n{display_name} mailing list\\nUnsubscribe: {unsubscribe_url}';

/** Leaf bodies by position: independent of the decoration code (mail/mime.ts is the rules' walker). */
function bodies(raw: Buffer): { type: string; body: Buffer }[] {
  return leafParts(raw).map((l) => ({ type: l.contentType, body: raw.subarray(l.bodyStart, l.bodyEnd) }));
}

function headerOf(raw: Buffer, name: string): string[] {
  const text = splitHeaderBlock(raw).header.toString('latin1').replace(/\r?\n[ \t]+/g, ' ');
  return text.split(/\r?\n/).filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`)).map((l) => l.slice(name.length + 1).trim());
}

describe('the decoration pipeline table', () => {
  it('lists its handlers in order, each with a name and a description', () => {
    assert.deepEqual(
      DECORATION_PIPELINE.map((h) => h.name),
      ['cleanse', 'content-filter', 'reply-to', 'subject-prefix', 'header-footer', 'list-headers'],
    );
    for (const h of DECORATION_PIPELINE) assert.ok(h.description.length > 20, h.name);
  });
});

describe('subject prefix', () => {
  it('adds the default prefix once and keeps one on replies', async () => {
    const out = decorate(fixture('decoration/plain-qp.eml'), ctx());
    assert.equal((await simpleParser(out)).subject, '[dev] plain quoted printable');
    const again = decorate(out, ctx());
    assert.equal((await simpleParser(again)).subject, '[dev] plain quoted printable');
    assert.equal(prefixedSubject('Re: [dev] Re: [dev] hello', '[{display_name}] ', 3, 'dev', LIST), '[dev] Re: hello');
    assert.equal(prefixedSubject('Re: [dev 12] hello', '[dev %d] ', 13, 'dev', LIST), '[dev 13] Re: hello');
    assert.equal(prefixedSubject('', '[dev] ', 1, 'dev', LIST), '[dev] (no subject)');
  });
  it('decodes a non-ASCII subject and writes it back RFC 2047-encoded, folded', async () => {
    const out = decorate(fixture('decoration/non-ascii-subject.eml'), ctx(['subject_prefix=[dev %d] ']));
    assert.equal((await simpleParser(out)).subject, '[dev 7] Привет, мир — это длинная тема письма');
    const header = splitHeaderBlock(out).header.toString('latin1');
    const subject = /^Subject:.*(\r\n[ \t].*)*/m.exec(header)?.[0] ?? '';
    assert.match(subject, /=\?UTF-8\?Q\?/i);
    for (const line of subject.split('\r\n')) assert.ok(line.length <= 78, line);
    assert.doesNotMatch(header, /[^\x00-\x7f]/);
  });
  it('handles a latin-1 reply subject that already carries the prefix', async () => {
    const out = decorate(fixture('decoration/latin1-8bit.eml'), ctx());
    assert.equal((await simpleParser(out)).subject, '[dev] Re: Café');
  });
  it('can be turned off', async () => {
    const out = decorate(fixture('decoration/plain-qp.eml'), ctx(['subject_prefix=']));
    assert.equal((await simpleParser(out)).subject, 'plain quoted printable');
  });
});

describe('footer and header texts', () => {
  it('appends to a single quoted-printable text part in its own encoding', async () => {
    const raw = fixture('decoration/plain-qp.eml');
    const out = decorate(raw, ctx([FOOTER, 'msg_header=[{list}]']));
    const parsed = await simpleParser(out);
    assert.equal(parsed.attachments.length, 0);
    assert.equal(parsed.text?.trim(), `[${LIST}]\nHello list, café is open.\n-- \nAlice\n--\ndev mailing list\nUnsubscribe: mailto:dev-leave@lists.example.org?subject=unsubscribe`);
    assert.equal(headerOf(out, 'content-transfer-encoding')[0], 'quoted-printable');
    // The poster's encoded lines are still there as they were.
    assert.ok(splitHeaderBlock(out).body.includes(splitHeaderBlock(raw).body));
  });
  it('appends to an 8-bit latin-1 part in latin-1, the original bytes kept', async () => {
    const raw = fixture('decoration/latin1-8bit.eml');
    const out = decorate(raw, ctx(['msg_footer=Grüße von {display_name}']));
    const body = splitHeaderBlock(out).body;
    assert.ok(body.subarray(0, splitHeaderBlock(raw).body.length).equals(splitHeaderBlock(raw).body));
    assert.ok(body.includes(Buffer.from('Grüße von dev', 'latin1')));
    assert.match(headerOf(out, 'content-type')[0] ?? '', /iso-8859-1/);
    assert.match((await simpleParser(out)).text ?? '', /München, à bientôt\.\r?\n+Grüße von dev/);
  });
  it('re-encodes a base64 text part with the footer, and it decodes to both', async () => {
    const out = decorate(fixture('decoration/plain-base64.eml'), ctx([FOOTER]));
    const text = (await simpleParser(out)).text ?? '';
    assert.match(text, /^Base64 body line one\.\nLine two, ünïcödé\.\n--\ndev mailing list/);
  });
  it('adds a separate text/plain part to multipart/mixed, attachments byte-identical', async () => {
    const raw = fixture('decoration/attachments.eml');
    const out = decorate(raw, ctx([FOOTER]));
    const before = bodies(raw);
    const after = bodies(out);
    assert.equal(after.length, before.length + 1);
    before.forEach((b, i) => assert.ok(after[i]?.body.equals(b.body), `part ${i} (${b.type}) changed`));
    const parsed = await simpleParser(out);
    assert.deepEqual(parsed.attachments.map((a) => a.filename), ['photo.png', 'report.pdf', 'setup.exe']);
    assert.equal(after.at(-1)?.type, 'text/plain');
    assert.match(after.at(-1)?.body.toString() ?? '', /dev mailing list/);
    // The preamble stays too.
    assert.ok(out.includes('This is a multi-part message in MIME format.'));
  });
  it('wraps HTML-only and multipart/alternative posts in multipart/mixed, their bytes kept', async () => {
    for (const name of ['html-only', 'alternative']) {
      const raw = fixture(`decoration/${name}.eml`);
      const out = decorate(raw, ctx([FOOTER]));
      assert.match(headerOf(out, 'content-type')[0] ?? '', /^multipart\/mixed;/);
      const before = bodies(raw);
      const after = bodies(out);
      before.forEach((b, i) => assert.ok(after[i]?.body.equals(b.body), `${name}: part ${i} changed`));
      assert.equal(after.length, before.length + 1);
      assert.match((await simpleParser(out)).text ?? '', /dev mailing list/);
    }
  });
  it('never changes a multipart/signed part: the footer goes beside it', async () => {
    const raw = fixture('decoration/signed.eml');
    const out = decorate(raw, ctx([FOOTER, 'msg_header=hello']));
    const signed = splitHeaderBlock(raw).body;
    // The whole signed body (both its parts and its boundaries) is in the output unchanged.
    assert.ok(out.includes(signed), 'signed body changed');
    assert.match(headerOf(out, 'content-type')[0] ?? '', /^multipart\/mixed;/);
    assert.ok(out.includes('Content-Type: multipart/signed; protocol="application/pgp-signature"; micalg=pgp-sha256; boundary="sig-1"'));
    assert.match((await simpleParser(out)).text ?? '', /dev mailing list/);
  });
  it('adds nothing to encrypted mail, which would break it', () => {
    const raw = fixture('decoration/encrypted.eml');
    const out = decorate(raw, ctx([FOOTER]));
    assert.ok(splitHeaderBlock(out).body.equals(splitHeaderBlock(raw).body));
  });
  it('refuses unknown template variables when set', () => {
    const { problems } = parseAssignments(['msg_footer=bye {membr}']);
    assert.match(problems[0] ?? '', /unknown variable \{membr\}/);
  });
});

describe('Reply-To and header cleansing', () => {
  const replyTo = async (settings: string[]) => (await simpleParser(decorate(fixture('decoration/plain-qp.eml'), ctx(settings)))).replyTo?.value.map((a) => a.address);
  it('none keeps the poster\'s Reply-To', async () => assert.deepEqual(await replyTo([]), ['alice.private@example.com']));
  it('list adds the list beside it', async () => assert.deepEqual(await replyTo(['reply_goes_to_list=list']), ['alice.private@example.com', LIST]));
  it('list with first_strip_reply_to replaces it', async () =>
    assert.deepEqual(await replyTo(['reply_goes_to_list=list', 'first_strip_reply_to=true']), [LIST]));
  it('explicit points at reply_to_address', async () =>
    assert.deepEqual(await replyTo(['reply_goes_to_list=explicit', 'reply_to_address=talk@example.org', 'first_strip_reply_to=yes']), ['talk@example.org']));
  it('strips first_strip_reply_to alone', async () => assert.equal(await replyTo(['first_strip_reply_to=true']), undefined));
  it('drops Approved: and read-receipt requests, keeps the rest', () => {
    const out = decorate(fixture('decoration/plain-qp.eml'), ctx());
    for (const h of ['approved', 'return-receipt-to', 'disposition-notification-to', 'x-confirm-reading-to']) assert.deepEqual(headerOf(out, h), [], h);
    for (const h of ['from', 'date', 'message-id', 'mime-version']) assert.equal(headerOf(out, h).length, 1, h);
  });
});

describe('list headers', () => {
  it('adds RFC 2369, RFC 2919, Archived-At and X-Message-ID-Hash', () => {
    const out = decorate(fixture('decoration/plain-qp.eml'), ctx());
    const hash = messageIdHash('<plain-quoted-printable@example.com>');
    const expect: [string, string][] = [
      ['list-id', '"Developers" <dev.lists.example.org>'],
      ['list-post', '<mailto:dev@lists.example.org>'],
      ['list-help', '<mailto:dev-request@lists.example.org?subject=help>'],
      ['list-subscribe', '<mailto:dev-join@lists.example.org?subject=subscribe>'],
      ['list-unsubscribe', '<mailto:dev-leave@lists.example.org?subject=unsubscribe>'],
      ['list-owner', '<mailto:dev-owner@lists.example.org>'],
      ['list-archive', '<https://lists.example.org/archive/dev%40lists.example.org>'],
      ['archived-at', `<https://lists.example.org/archive/dev%40lists.example.org/${hash}>`],
      ['x-message-id-hash', hash],
      ['precedence', 'list'],
    ];
    for (const [name, value] of expect) assert.deepEqual(headerOf(out, name), [value], name);
  });
});

describe('content filtering', () => {
  it('removes filtered types and extensions, keeping the other parts byte for byte', async () => {
    const raw = fixture('decoration/attachments.eml');
    const out = decorate(raw, ctx(['filter_content=true', 'filter_types+=image', 'filter_extensions+=exe']));
    const parsed = await simpleParser(out);
    assert.deepEqual(parsed.attachments.map((a) => a.filename), ['report.pdf']);
    const before = bodies(raw);
    const after = bodies(out);
    assert.ok(after[0]?.body.equals(before[0]?.body as Buffer));
    assert.ok(after[1]?.body.equals(before[2]?.body as Buffer));
  });
  it('pass_types keeps only what it names', async () => {
    const out = decorate(fixture('decoration/attachments.eml'), ctx(['filter_content=true', 'pass_types+=text/plain', 'pass_types+=application/pdf']));
    assert.deepEqual((await simpleParser(out)).attachments.map((a) => a.filename), ['report.pdf']);
  });
  it('collapses multipart/alternative to its plain part and converts HTML-only posts to text', async () => {
    const alt = decorate(fixture('decoration/alternative.eml'), ctx(['filter_content=true']));
    assert.match(headerOf(alt, 'content-type')[0] ?? '', /^text\/plain/);
    assert.equal(splitHeaderBlock(alt).body.toString(), 'Plain version: café.');
    const html = await simpleParser(decorate(fixture('decoration/html-only.eml'), ctx(['filter_content=true', 'convert_html_to_plaintext=true'])));
    assert.equal(html.html, false);
    assert.match(html.text ?? '', /Hello list, see the site \[https:\/\/example\.org\/\]\./);
  });
  it('does nothing while filter_content is off', () => {
    const raw = fixture('decoration/attachments.eml');
    const out = decorate(raw, ctx(['filter_types+=image', 'subject_prefix=']));
    assert.ok(splitHeaderBlock(out).body.equals(splitHeaderBlock(raw).body));
  });
});

describe('the content-filter posting rule', () => {
  const verdict = (set: string[]) => runChain(input('decoration/attachments.eml', { member: 'default', set: ['filter_content=true', 'filter_extensions+=exe', ...set] }));
  it('holds or rejects a post filtering would change, by filter_action, with the parts named', () => {
    for (const action of ['hold', 'reject'] as const) {
      const v = verdict([`filter_action=${action}`]);
      assert.equal(v.action, action);
      assert.deepEqual(v.hits.map((h) => h.rule), ['content-filter']);
      assert.match(v.summary, /content filtering would remove application\/octet-stream setup\.exe \(\.exe is in filter_extensions\)/);
    }
  });
  it('lets a post through with filter_action discard: the parts go at decoration', () => {
    const v = verdict([]);
    assert.equal(v.action, 'accept');
    assert.ok(v.misses.includes('content-filter'));
  });
  it('discards a post filtering would leave empty', () => {
    const v = verdict(['pass_types+=audio']);
    assert.equal(v.action, 'discard');
    assert.match(v.summary, /leaves nothing/);
  });
});

describe('per-recipient copies', () => {
  it('differ only in To, List-Unsubscribe and the footer; prepared once, rendered per member', async () => {
    const c = ctx(['delivery_mode=per-recipient', 'msg_footer=Sent to {member}. Leave: {unsubscribe_url}']);
    const raw = fixture('decoration/attachments.eml');
    const shared = decorate(raw, c);
    assert.doesNotMatch(shared.toString(), /Sent to/, 'the shared copy carries no footer');
    const p = preparePersonalization(shared, c);
    const members = ['ann@example.net', 'bob@example.com'].map((address, i) => ({ address, unsubscribeUrl: `https://lists.example.org/u/dev/TOKEN${i}` }));
    const copies = members.map((m) => p.render(m));
    for (const [i, copy] of copies.entries()) {
      const m = members[i] as (typeof members)[number];
      const parsed = await simpleParser(copy);
      assert.deepEqual(parsed.to && !Array.isArray(parsed.to) ? parsed.to.value.map((a) => a.address) : [], [m.address]);
      assert.deepEqual(parsed.cc && !Array.isArray(parsed.cc) ? parsed.cc.value.map((a) => a.address) : [], [LIST]);
      assert.deepEqual(headerOf(copy, 'list-unsubscribe'), [`<${m.unsubscribeUrl}>, <mailto:dev-leave@lists.example.org?subject=unsubscribe>`]);
      assert.deepEqual(headerOf(copy, 'list-unsubscribe-post'), ['List-Unsubscribe=One-Click']);
      assert.match(parsed.text ?? '', new RegExp(`Sent to ${m.address}\\. Leave: ${m.unsubscribeUrl}`));
      assert.deepEqual(parsed.attachments.map((a) => a.filename), ['photo.png', 'report.pdf', 'setup.exe']);
      bodies(raw).forEach((b, j) => assert.ok(bodies(copy)[j]?.body.equals(b.body), `part ${j} changed`));
    }
    // Everything else is the same bytes: remove each member's own lines and footer and compare.
    const strip = (copy: Buffer, i: number) => {
      const m = members[i] as (typeof members)[number];
      return copy.toString('latin1').split(m.address).join('X').split(m.unsubscribeUrl).join('U');
    };
    assert.equal(strip(copies[0] as Buffer, 0), strip(copies[1] as Buffer, 1));
  });
  it('appends the personal footer inline to a single text part', async () => {
    const c = ctx(['delivery_mode=per-recipient', 'msg_footer=Sent to {member}']);
    const copy = preparePersonalization(decorate(fixture('decoration/plain-qp.eml'), c), c).render({ address: 'ann@example.net', unsubscribeUrl: 'https://x/u/1' });
    const parsed = await simpleParser(copy);
    assert.equal(parsed.attachments.length, 0);
    assert.match(parsed.text ?? '', /Alice\nSent to ann@example\.net/);
  });
});

describe('hostile and malformed posts', () => {
  const dirs = ['rules', 'mail', 'decoration'];
  const files = dirs.flatMap((d) => readdirSync(new URL(`../../../test/fixtures/${d}/`, import.meta.url)).filter((f) => f.endsWith('.eml')).map((f) => `${d}/${f}`));
  const c = ctx([FOOTER, 'msg_header=hi {list}', 'reply_goes_to_list=list', 'filter_content=true', 'filter_types+=image', 'convert_html_to_plaintext=true']);
  const p = ctx(['delivery_mode=per-recipient', FOOTER]);
  for (const file of files) {
    it(`decorates ${file} without a handler failing, and personalizes it`, () => {
      const { raw, skipped } = decorateReporting(fixture(file), c);
      assert.deepEqual(skipped, []);
      assert.equal(headerOf(raw, 'list-id').length, 1);
      const copy = preparePersonalization(decorate(fixture(file), p), p).render({ address: 'ann@example.net', unsubscribeUrl: 'https://x/u/1' });
      assert.deepEqual(headerOf(copy, 'to'), ['ann@example.net']);
    });
  }
});
