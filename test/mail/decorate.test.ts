// The list headers go on top; the original header lines and the body stay byte-for-byte.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addListHeaders, listIdOf } from '../../mail/decorate.js';
import { splitHeaderBlock } from '../../mail/message.js';
import { fixture } from '../helpers/fixtures.js';

const ctx = { list: 'dev@lists.example.org', displayName: 'dev', description: 'Developers', seq: 42, publicUrl: 'http://127.0.0.1:8025' };

describe('addListHeaders', () => {
  it('adds RFC 2369 / 2919 headers, Precedence and the loop marker', () => {
    const out = addListHeaders(fixture('mail/member-post.eml'), ctx).toString();
    for (const line of [
      'List-Id: "Developers" <dev.lists.example.org>',
      'List-Post: <mailto:dev@lists.example.org>',
      'List-Help: <mailto:dev-request@lists.example.org?subject=help>',
      'List-Owner: <mailto:dev-owner@lists.example.org>',
      'Precedence: list',
      'X-BeenThere: dev@lists.example.org',
      'X-Listflow-Seq: 42',
    ]) {
      assert.ok(out.includes(`${line}\r\n`), `missing ${line}`);
    }
    assert.match(out, /^List-Unsubscribe:\s+<mailto:dev-request@lists\.example\.org\?subject=unsubscribe>/m);
  });
  it('leaves the body bytes untouched, 8-bit included', () => {
    const raw = fixture('mail/member-post.eml');
    assert.equal(splitHeaderBlock(addListHeaders(raw, ctx)).body.equals(splitHeaderBlock(raw).body), true);
  });
  it("replaces another list's headers instead of stacking them", () => {
    const out = addListHeaders(fixture('mail/looped.eml'), { ...ctx, list: 'other@lists.example.org' }).toString();
    assert.equal(out.match(/^List-Id:/gim)?.length, 1);
    assert.equal(out.match(/^Precedence:/gim)?.length, 1);
    assert.match(out, /^X-BeenThere: other@lists\.example\.org\r$/m);
  });
  it('keeps the original headers in their order', () => {
    const out = addListHeaders(fixture('mail/member-post.eml'), ctx).toString();
    const from = out.indexOf('From: "Alice Example"');
    const subject = out.indexOf('Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_Berlin?=');
    assert.ok(from > 0 && subject > from);
  });
});

describe('listIdOf', () => {
  it('quotes the description and keeps dots of the local part', () => {
    assert.equal(listIdOf('py.dev@example.org', 'py.dev', ''), '"py.dev" <py.dev.example.org>');
    assert.equal(listIdOf('a@b.org', 'a', 'say "hi"'), '"say  hi" <a.b.org>');
  });
});
