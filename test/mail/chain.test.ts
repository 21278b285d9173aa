// The whole posting chain over realistic posts: the verdict, which rules hit (in order) and why.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { oneLine, POSTING_CHAIN, runChain } from '../../mail/chain.js';
import { maxSize } from '../../mail/rules/max-size.js';
import type { Rule } from '../../mail/rules/types.js';
import { input } from '../helpers/rule-input.js';

const hitsOf = (v: ReturnType<typeof runChain>) => v.hits.map((h) => `${h.rule}:${h.action}`);

describe('the posting chain', () => {
  it('is one table a person can read, in the order Mailman 3 owners expect', () => {
    assert.deepEqual(
      POSTING_CHAIN.map((r) => `${r.rule.name}:${r.action}`),
      [
        'no-senders:discard',
        'approved:accept',
        'emergency:hold',
        'loop:discard',
        'spoofed-member:hold',
        'banned-address:discard',
        'dmarc-mitigation:from-rule',
        'content-filter:from-rule',
        'member-moderation:from-rule',
        'header-match:from-rule',
        'nonmember-moderation:from-rule',
        'administrivia:defer',
        'implicit-dest:defer',
        'max-recipients:defer',
        'max-size:defer',
        'no-subject:defer',
        'suspicious-header:defer',
      ],
    );
  });

  it("accepts a member's post (default_member_action defer) after every rule passed", () => {
    const v = runChain(input('member-post.eml', { member: 'default' }));
    assert.equal(v.action, 'accept');
    assert.deepEqual(v.hits, []);
    assert.deepEqual(v.misses, POSTING_CHAIN.map((r) => r.rule.name));
    assert.equal(v.summary, 'no rule held the post');
  });

  it('holds nonmember spam flagged X-Spam-Flag: YES by the site rule, before nonmember moderation', () => {
    const v = runChain(input('spam-flagged.eml', { set: ['nonmember_action=accept'] }));
    assert.equal(v.action, 'hold');
    assert.deepEqual(hitsOf(v), ['header-match:hold']);
    assert.match(v.summary, /x-spam-flag: "YES" matches site header_matches/);
  });

  it('lets a list rule discard what the site rule would hold (list rows first)', () => {
    const v = runChain(input('spam-flagged.eml', { set: ['header_matches+=X-Spam-Flag: yes -> discard'] }));
    assert.equal(v.action, 'discard');
  });

  it('accepts a post approved with the moderator password in the body, even in emergency moderation', () => {
    const v = runChain(input('approved-body.eml', { set: ['emergency=true'] }));
    assert.equal(v.action, 'accept');
    assert.deepEqual(hitsOf(v), ['approved:accept']);
    assert.deepEqual(v.misses, ['no-senders']);
  });

  it('holds a wrong password from a nonmember, saying why without the guess', () => {
    const v = runChain(input('approved-wrong.eml'));
    assert.equal(v.action, 'hold');
    assert.deepEqual(hitsOf(v), ['nonmember-moderation:hold']);
    assert.ok(v.misses.includes('approved'));
    assert.doesNotMatch(JSON.stringify(v), /password123/);
  });

  it('holds a member post in emergency moderation', () => {
    const v = runChain(input('member-post.eml', { member: 'accept', set: ['emergency=yes'] }));
    assert.deepEqual([v.action, ...hitsOf(v)], ['hold', 'emergency:hold']);
  });

  it('discards a banned address silently, even a member', () => {
    const v = runChain(input('banned.eml', { member: 'accept', bans: { site: ['^.*@bad\\.example$'] } }));
    assert.equal(v.action, 'discard');
    assert.deepEqual(hitsOf(v), ['banned-address:discard']);
  });

  it('accepts a member of @announce listed in accept_these_nonmembers at once', () => {
    const o = { set: ['accept_these_nonmembers+=@announce@lists.example.org', 'max_num_recipients=1'], memberOf: ['announce@lists.example.org'] };
    const v = runChain(input('other-list-member.eml', o));
    assert.equal(v.action, 'accept');
    assert.deepEqual(hitsOf(v), ['nonmember-moderation:accept'], 'an explicit accept ends the chain before the deferred rules');
  });

  it('holds a member post cross-posted to 12 lists, at the end of the chain', () => {
    const v = runChain(input('cross-posted.eml', { member: 'default' }));
    assert.equal(v.action, 'hold');
    assert.deepEqual(hitsOf(v), ['max-recipients:defer']);
    assert.match(v.summary, /To\/Cc name 12 addresses/);
  });

  it('collects every deferred hit and holds once with all reasons', () => {
    const v = runChain(input('no-subject.eml', { member: 'default', set: ['max_num_recipients=1'] }));
    assert.equal(v.action, 'hold');
    assert.deepEqual(hitsOf(v), ['max-recipients:defer', 'no-subject:defer']);
    assert.match(v.summary, /To\/Cc name 1 addresses.*; the post has no subject/);
  });

  it('holds a Bcc to the list, and accepts it through an acceptable alias', () => {
    assert.deepEqual(hitsOf(runChain(input('bcc.eml', { member: 'default' }))), ['implicit-dest:defer']);
    const v = runChain(input('alias.eml', { member: 'default', set: ['acceptable_aliases+=developers@example.org'] }));
    assert.equal(v.action, 'accept');
  });

  it('holds a subscribe request sent to the posting address', () => {
    const v = runChain(input('subscribe-subject.eml', { member: 'default' }));
    assert.deepEqual(hitsOf(v), ['administrivia:defer']);
  });

  it("a member's explicit accept skips the deferred rules, as in Mailman", () => {
    assert.equal(runChain(input('cross-posted.eml', { member: 'accept' })).action, 'accept');
  });

  it('an explicit default_member_action=accept accepts at once; hold holds', () => {
    assert.equal(runChain(input('no-subject.eml', { member: 'default', set: ['default_member_action=accept'] })).action, 'accept');
    assert.equal(runChain(input('member-post.eml', { member: 'default', set: ['default_member_action=hold'] })).action, 'hold');
  });

  it("follows a member's own reject and discard", () => {
    assert.equal(runChain(input('member-post.eml', { member: 'reject' })).action, 'reject');
    assert.equal(runChain(input('member-post.eml', { member: 'discard' })).action, 'discard');
  });

  it('discards a loop and a post without sender before anything else', () => {
    assert.deepEqual(hitsOf(runChain(input('mail/looped.eml', { member: 'accept' }))), ['loop:discard']);
    assert.equal(runChain(input('mail/no-from.eml')).action, 'discard');
  });

  it('holds an oversized member post at the end of the chain, with both sizes in the reason', () => {
    const i = input('member-post.eml', { member: 'default', set: ['max_message_size_kb=1'] });
    i.facts.size = 5000;
    assert.equal(maxSize.check(i).reason, "the message is 5 KiB, over the list's limit of 1 KiB");
    const v = runChain(i);
    assert.deepEqual([v.action, ...hitsOf(v)], ['hold', 'max-size:defer']);
  });

  it('turns a rule that throws into a deferred hit (held), not a crash', () => {
    const broken: Rule = { name: 'broken', description: 'always throws', check: () => { throw new Error('boom\r\nBcc: x'); } };
    const v = runChain(input('member-post.eml', { member: 'default' }), [{ rule: broken, action: 'discard' }]);
    assert.equal(v.action, 'hold');
    assert.equal(v.hits[0]?.reason, 'the rule failed: boom Bcc: x');
  });

  it('lets no later row accept a post once a rule failed (it might have stopped it); a later stop still stops', () => {
    const broken: Rule = { name: 'broken', description: 'always throws', check: () => { throw new Error('boom'); } };
    const accepts: Rule = { name: 'accepts', description: 'always accepts', check: () => ({ hit: true, reason: 'fine' }) };
    const held = runChain(input('member-post.eml', { member: 'default' }), [{ rule: broken, action: 'discard' }, { rule: accepts, action: 'accept' }]);
    assert.deepEqual([held.action, ...hitsOf(held)], ['hold', 'broken:defer', 'accepts:accept']);
    assert.equal(held.summary, 'the rule failed: boom; fine');
    const rejected = runChain(input('member-post.eml', { member: 'default' }), [{ rule: broken, action: 'discard' }, { rule: accepts, action: 'reject' }]);
    assert.equal(rejected.action, 'reject');
    // A member whose own moderation is accept, with a site ban row RE2 refuses: held, not let through.
    const member = runChain(input('member-post.eml', { member: 'accept', bans: { site: ['^(?=x).*$'] } }));
    assert.equal(member.action, 'hold', member.summary);
    assert.match(member.summary, /^the rule failed: the stored pattern "\^\(\?=x\)\.\*\$" is not a valid regular expression: lookahead/);
  });

  it('oneLine flattens every kind of line break and control character', () => {
    assert.equal(oneLine('a\r\nb\u0085c\u2028d\u0000e\u001bf'), 'a b c d e f');
    assert.equal(oneLine('x'.repeat(400)).length, 300);
  });
});
