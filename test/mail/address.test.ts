// Which recipients are list addresses, and which typed addresses are valid.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AddressError, listSubAddress, normalizeAddress, parseListRecipient } from '../../mail/address.js';

const lists = new Set(['dev@example.org', 'x-owner@example.org']);
const isList = (a: string) => lists.has(a);

describe('parseListRecipient', () => {
  const cases: [string, ReturnType<typeof parseListRecipient>][] = [
    ['dev@example.org', { list: 'dev@example.org', kind: 'post' }],
    ['DEV@Example.ORG', { list: 'dev@example.org', kind: 'post' }],
    ['dev-request@example.org', { list: 'dev@example.org', kind: 'request' }],
    ['dev-owner@example.org', { list: 'dev@example.org', kind: 'owner' }],
    ['dev-bounces@example.org', { list: 'dev@example.org', kind: 'bounces' }],
    ['dev-bounces+a1b2c3@example.org', { list: 'dev@example.org', kind: 'bounces', detail: 'a1b2c3' }],
    ['dev-confirm+TOKEN1@example.org', { list: 'dev@example.org', kind: 'confirm', detail: 'TOKEN1' }],
    ['dev-join@example.org', { list: 'dev@example.org', kind: 'join' }],
    ['dev-leave@example.org', { list: 'dev@example.org', kind: 'leave' }],
    ['x-owner@example.org', { list: 'x-owner@example.org', kind: 'post' }],
    ['x-owner-owner@example.org', { list: 'x-owner@example.org', kind: 'owner' }],
    ['dev-confirm@example.org', null],
    ['dev-request+x@example.org', null],
    ['dev@other.example', null],
    ['nobody@example.org', null],
    ['dev-unknown@example.org', null],
    ['-request@example.org', null],
  ];
  for (const [rcpt, expected] of cases) {
    it(`${rcpt} → ${expected ? `${expected.kind} of ${expected.list}` : 'not a list address'}`, () => {
      assert.deepEqual(parseListRecipient(rcpt, isList), expected);
    });
  }
});

describe('normalizeAddress', () => {
  it('lower-cases the domain and keeps the local part', () => {
    assert.equal(normalizeAddress('  Alice@Example.ORG '), 'Alice@example.org');
  });
  it('turns an internationalised domain into ASCII', () => {
    assert.equal(normalizeAddress('jörg@bücher.example'), 'jörg@xn--bcher-kva.example');
  });
  for (const bad of ['', 'alice', 'alice@', '@example.org', 'Alice <alice@example.org>', 'a b@example.org', 'alice@localhost', 'a,b@example.org', `${'x'.repeat(65)}@example.org`]) {
    it(`refuses ${JSON.stringify(bad)} with a reason`, () => {
      assert.throws(() => normalizeAddress(bad), AddressError);
    });
  }
});

describe('listSubAddress', () => {
  it('builds -request and VERP addresses', () => {
    assert.equal(listSubAddress('dev@example.org', 'request'), 'dev-request@example.org');
    assert.equal(listSubAddress('dev@example.org', 'bounces', 'abc'), 'dev-bounces+abc@example.org');
  });
});

describe('normalizeAddress on the fast path and off it', () => {
  for (const good of ['a.b+tag@example.org', "o'brien@example.ie", 'x_y-z@sub-domain.example.co.uk', '"quoted"@example.org']) {
    it(`accepts ${good}`, () => assert.equal(normalizeAddress(good), good));
  }
  for (const bad of ['a..b@example.org', '.a@example.org', 'a.@example.org', 'a@-example.org', 'a@example-.org', 'a@exa_mple.org', 'a@example..org']) {
    it(`refuses ${bad}`, () => assert.throws(() => normalizeAddress(bad), AddressError));
  }
});
