// The posting chain over real messages: each rule's hit, miss and reason, and the verdict of the whole table.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { POSTING_CHAIN, runChain } from '../../mail/chain.js';
import { readFacts } from '../../mail/message.js';
import { loop } from '../../mail/rules/loop.js';
import { maxSize } from '../../mail/rules/max-size.js';
import { memberModeration } from '../../mail/rules/member-moderation.js';
import { noSenders } from '../../mail/rules/no-senders.js';
import { nonmemberModeration } from '../../mail/rules/nonmember-moderation.js';
import type { MemberModeration, RuleInput } from '../../mail/rules/types.js';
import { defaultSettings, type ListSettings } from '../../mail/settings.js';
import { fixture } from '../helpers/fixtures.js';

const LIST = 'dev@lists.example.org';

function input(file: string, o: { member?: MemberModeration | false; settings?: Partial<ListSettings> } = {}): RuleInput {
  const facts = readFacts(fixture(`mail/${file}`));
  const address = facts.from ?? facts.sender;
  const member = o.member ?? false;
  return {
    facts,
    list: { address: LIST, settings: { ...defaultSettings(), ...o.settings } },
    poster: { address, isMember: member !== false, moderation: member === false ? null : member },
  };
}

describe('posting rules', () => {
  const table: { rule: typeof loop; file: string; o?: Parameters<typeof input>[1]; hit: boolean; reason: RegExp; action?: string }[] = [
    { rule: noSenders, file: 'no-from.eml', hit: true, reason: /no usable From/ },
    { rule: noSenders, file: 'member-post.eml', hit: false, reason: /sender is alice@example\.com/ },
    { rule: loop, file: 'looped.eml', hit: true, reason: /X-BeenThere: dev@lists\.example\.org/ },
    { rule: loop, file: 'member-post.eml', hit: false, reason: /no loop marker/ },
    { rule: memberModeration, file: 'member-post.eml', o: { member: 'default' }, hit: false, reason: /default action/ },
    { rule: memberModeration, file: 'member-post.eml', o: { member: 'hold' }, hit: true, reason: /set to hold/, action: 'hold' },
    { rule: memberModeration, file: 'member-post.eml', o: { member: 'default', settings: { default_member_action: 'hold' } }, hit: true, reason: /default member action is hold/, action: 'hold' },
    { rule: memberModeration, file: 'member-post.eml', hit: false, reason: /not a member/ },
    { rule: nonmemberModeration, file: 'member-post.eml', hit: true, reason: /alice@example\.com is not a member.*nonmember_action: hold/, action: 'hold' },
    { rule: nonmemberModeration, file: 'member-post.eml', o: { settings: { nonmember_action: 'reject' } }, hit: true, reason: /nonmember_action: reject/, action: 'reject' },
    { rule: nonmemberModeration, file: 'member-post.eml', o: { member: 'default' }, hit: false, reason: /is a member/ },
    { rule: maxSize, file: 'member-post.eml', o: { settings: { max_message_size_kb: 1 } }, hit: false, reason: /within the 1 KiB limit/ },
    { rule: maxSize, file: 'looped.eml', o: { settings: { max_message_size_kb: 0 } }, hit: false, reason: /no size limit/ },
  ];
  for (const row of table) {
    it(`${row.rule.name} on ${row.file} ${row.hit ? 'hits' : 'misses'}`, () => {
      const result = row.rule.check(input(row.file, row.o));
      assert.equal(result.hit, row.hit);
      assert.match(result.reason, row.reason);
      if (row.action) assert.equal(result.action, row.action);
    });
  }

  it('max-size hits a message over the limit with both sizes in the reason', () => {
    const i = input('member-post.eml', { member: 'default', settings: { max_message_size_kb: 1 } });
    i.facts.size = 5000;
    const result = maxSize.check(i);
    assert.equal(result.hit, true);
    assert.equal(result.reason, "the message is 5 KiB, over the list's limit of 1 KiB");
  });
});

describe('the posting chain', () => {
  it('is one table a person can read', () => {
    assert.deepEqual(
      POSTING_CHAIN.map((r) => `${r.rule.name}:${r.action}`),
      ['no-senders:discard', 'loop:discard', 'spoofed-member:hold', 'member-moderation:from-rule', 'nonmember-moderation:from-rule', 'max-size:defer'],
    );
  });
  it('accepts a member post and records every rule it passed', () => {
    const v = runChain(input('member-post.eml', { member: 'default' }));
    assert.equal(v.action, 'accept');
    assert.deepEqual(v.hits, []);
    assert.deepEqual(v.misses, ['no-senders', 'loop', 'spoofed-member', 'member-moderation', 'nonmember-moderation', 'max-size']);
  });
  it('holds a nonmember post and says why', () => {
    const v = runChain(input('member-post.eml'));
    assert.equal(v.action, 'hold');
    assert.equal(v.hits[0]?.rule, 'nonmember-moderation');
    assert.match(v.summary, /not a member of dev@lists\.example\.org/);
  });
  it('discards a loop before looking at membership', () => {
    const v = runChain(input('looped.eml', { member: 'accept' }));
    assert.equal(v.action, 'discard');
    assert.deepEqual(v.hits.map((h) => h.rule), ['loop']);
  });
  it('discards a message with no sender', () => {
    assert.equal(runChain(input('no-from.eml')).action, 'discard');
  });
  it('holds an oversized member post at the end of the chain (deferred hit)', () => {
    const i = input('member-post.eml', { member: 'default', settings: { max_message_size_kb: 1 } });
    i.facts.size = 10_000;
    const v = runChain(i);
    assert.equal(v.action, 'hold');
    assert.deepEqual(v.hits.map((h) => `${h.rule}:${h.action}`), ['max-size:defer']);
  });
  it("follows a member's own moderation setting", () => {
    assert.equal(runChain(input('member-post.eml', { member: 'reject' })).action, 'reject');
    assert.equal(runChain(input('member-post.eml', { member: 'discard' })).action, 'discard');
  });
});
