// Each posting rule over real .eml fixtures: when it hits, when it misses, and the reason it gives.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { administrivia } from '../../mail/rules/administrivia.js';
import { approved, tokenApprover } from '../../mail/rules/approved.js';
import { issueToken, type TokenClaims } from '../../mail/tokens.js';
import { fixture } from '../helpers/fixtures.js';
import { bannedAddress } from '../../mail/rules/banned-address.js';
import { emergency } from '../../mail/rules/emergency.js';
import { headerMatch } from '../../mail/rules/header-match.js';
import { implicitDest } from '../../mail/rules/implicit-dest.js';
import { loop } from '../../mail/rules/loop.js';
import { maxRecipients } from '../../mail/rules/max-recipients.js';
import { maxSize } from '../../mail/rules/max-size.js';
import { memberModeration } from '../../mail/rules/member-moderation.js';
import { noSenders } from '../../mail/rules/no-senders.js';
import { noSubject } from '../../mail/rules/no-subject.js';
import { nonmemberModeration } from '../../mail/rules/nonmember-moderation.js';
import { suspiciousHeader } from '../../mail/rules/suspicious-header.js';
import type { Rule } from '../../mail/rules/types.js';
import { input, inputFor, type InputOptions, LIST, PASSWORD } from '../helpers/rule-input.js';

interface Row {
  file: string;
  o?: InputOptions;
  hit: boolean;
  reason: RegExp;
  action?: string;
}

function table(rule: Rule, rows: Row[]): void {
  describe(rule.name, () => {
    it('has a name and a one-line description', () => {
      assert.match(rule.name, /^[a-z-]+$/);
      assert.match(rule.description, /^[^\n]{10,120}$/);
    });
    for (const row of rows) {
      const label = `${row.hit ? 'hits' : 'misses'} ${row.file}${row.o ? ` with ${JSON.stringify(row.o)}` : ''}`;
      it(label, () => {
        const result = rule.check(input(row.file, row.o));
        assert.equal(result.hit, row.hit, result.reason);
        assert.match(result.reason, row.reason);
        assert.equal(result.action, row.action);
      });
    }
  });
}

table(noSenders, [
  { file: 'mail/no-from.eml', hit: true, reason: /^the message has no usable From: or Sender: address$/ },
  { file: 'member-post.eml', hit: false, reason: /^sender is alice@example\.com$/ },
]);

table(approved, [
  { file: 'approved-header.eml', hit: true, reason: /^the approved header carries the list's moderator password$/ },
  { file: 'approved-body.eml', hit: true, reason: /^the first line of the body carries the list's moderator password$/ },
  { file: 'approved-base64.eml', hit: true, reason: /^the first line of the body carries/ },
  { file: 'approved-wrong.eml', hit: false, reason: /^the first line of the body does not carry the moderator password or a valid moderator token$/ },
  { file: 'approved-header.eml', o: { password: false }, hit: false, reason: /has an Approved: password, but the list has none set/ },
  { file: 'member-post.eml', hit: false, reason: /^no Approved: header or first line$/ },
]);

table(emergency, [
  { file: 'member-post.eml', o: { set: ['emergency=true'] }, hit: true, reason: /^the list is in emergency moderation: every post is held$/ },
  { file: 'member-post.eml', hit: false, reason: /not in emergency/ },
]);

table(loop, [
  { file: 'mail/looped.eml', hit: true, reason: /X-BeenThere: dev@lists\.example\.org/ },
  { file: 'member-post.eml', hit: false, reason: /no loop marker/ },
]);

table(bannedAddress, [
  { file: 'banned.eml', o: { bans: { list: ['troll@bad.example'] } }, hit: true, reason: /^troll@bad\.example is banned from this list \(troll@bad\.example\)$/ },
  { file: 'banned.eml', o: { bans: { site: ['^.*@bad\\.example$'] } }, hit: true, reason: /^troll@bad\.example is banned site-wide \(\^\.\*@bad\\\.example\$\)$/ },
  { file: 'member-post.eml', o: { envelopeFrom: 'bounce@bad.example', bans: { site: ['^.*@bad\\.example$'] } }, hit: true, reason: /^bounce@bad\.example is banned site-wide/ },
  { file: 'member-post.eml', o: { bans: { list: ['troll@bad.example'], site: ['^.*@bad\\.example$'] } }, hit: false, reason: /^no ban matches alice@example\.com$/ },
]);

table(memberModeration, [
  { file: 'member-post.eml', o: { member: 'default' }, hit: false, reason: /default action \(defer: the rest of the chain decides\)/ },
  { file: 'member-post.eml', o: { member: 'hold' }, hit: true, reason: /^the member alice@example\.com is set to hold$/, action: 'hold' },
  { file: 'member-post.eml', o: { member: 'accept' }, hit: true, reason: /set to accept/, action: 'accept' },
  { file: 'member-post.eml', o: { member: 'default', set: ['default_member_action=hold'] }, hit: true, reason: /^the list's default member action is hold$/, action: 'hold' },
  { file: 'member-post.eml', hit: false, reason: /not a member/ },
]);

table(headerMatch, [
  { file: 'spam-flagged.eml', hit: true, reason: /^x-spam-flag: "YES" matches site header_matches "X-Spam-Flag: \^\\s\*yes\\b -> hold"$/, action: 'hold' },
  { file: 'spam-flagged.eml', o: { set: ['header_matches+=X-Spam-Status: score=1\\d -> discard'] }, hit: true, reason: /matches list header_matches .*-> discard/, action: 'discard' },
  { file: 'suspicious.eml', o: { set: ['header_matches+=X-Mailer: bulk'] }, hit: true, reason: /x-mailer: "BulkBlaster Pro 9\.1" matches list header_matches "X-Mailer: bulk -> defer"/, action: 'defer' },
  { file: 'spam-flagged.eml', o: { site: { header_matches: [] } }, hit: false, reason: /^no header_matches row matches$/ },
  { file: 'member-post.eml', hit: false, reason: /^no header_matches row matches$/ },
]);

table(nonmemberModeration, [
  { file: 'member-post.eml', hit: true, reason: /^alice@example\.com is not a member of dev@lists\.example\.org \(nonmember_action: hold\)$/, action: 'hold' },
  { file: 'member-post.eml', o: { set: ['nonmember_action=reject'] }, hit: true, reason: /nonmember_action: reject/, action: 'reject' },
  { file: 'other-list-member.eml', o: { set: ['accept_these_nonmembers+=@announce@lists.example.org'], memberOf: ['announce@lists.example.org'] }, hit: true, reason: /^the nonmember carol@example\.net is a member of announce@lists\.example\.org \(accept_these_nonmembers\)$/, action: 'accept' },
  { file: 'other-list-member.eml', o: { set: ['accept_these_nonmembers+=@announce@lists.example.org'] }, hit: true, reason: /nonmember_action: hold/, action: 'hold' },
  { file: 'spam-flagged.eml', o: { set: ['discard_these_nonmembers+=^.*@spam\\.example$'] }, hit: true, reason: /matches \^\.\*@spam\\\.example\$ \(discard_these_nonmembers\)/, action: 'discard' },
  { file: 'spam-flagged.eml', o: { set: ['hold_these_nonmembers+=promo@spam.example', 'accept_these_nonmembers+=^promo@'] }, hit: true, reason: /accept_these_nonmembers/, action: 'accept' },
  { file: 'banned.eml', o: { set: ['reject_these_nonmembers+=TROLL@bad.example'] }, hit: true, reason: /reject_these_nonmembers/, action: 'reject' },
  { file: 'member-post.eml', o: { member: 'default' }, hit: false, reason: /^the sender is a member$/ },
]);

table(administrivia, [
  { file: 'subscribe-subject.eml', hit: true, reason: /^the subject "subscribe" is a subscribe command/ },
  { file: 'unsubscribe-body.eml', hit: true, reason: /^the line "unsubscribe" is a unsubscribe command/ },
  { file: 'long-help.eml', hit: false, reason: /no subscribe\/unsubscribe\/help command/ },
  { file: 'member-post.eml', hit: false, reason: /no subscribe/ },
  { file: 'subscribe-subject.eml', o: { set: ['administrivia=false'] }, hit: false, reason: /^administrivia checks are off/ },
]);

table(implicitDest, [
  { file: 'bcc.eml', hit: true, reason: /^dev@lists\.example\.org is not in To: or Cc: \(nor an acceptable alias\)$/ },
  { file: 'alias.eml', hit: true, reason: /is not in To: or Cc:/ },
  { file: 'alias.eml', o: { set: ['acceptable_aliases+=developers@example.org'] }, hit: false, reason: /^developers@example\.org is an acceptable alias \(developers@example\.org\)$/ },
  { file: 'alias.eml', o: { set: ['acceptable_aliases+=^dev(elopers)?@'] }, hit: false, reason: /is an acceptable alias \(\^dev\(elopers\)\?@\)/ },
  { file: 'bcc.eml', o: { set: ['require_explicit_destination=false'] }, hit: false, reason: /off/ },
  { file: 'member-post.eml', hit: false, reason: /^dev@lists\.example\.org is in To\/Cc$/ },
]);

table(maxRecipients, [
  { file: 'cross-posted.eml', hit: true, reason: /^To\/Cc name 12 addresses; the list holds posts with 10 or more$/ },
  { file: 'cross-posted.eml', o: { set: ['max_num_recipients=13'] }, hit: false, reason: /12 addresses in To\/Cc, below the limit of 13/ },
  { file: 'cross-posted.eml', o: { set: ['max_num_recipients=0'] }, hit: false, reason: /no recipient limit/ },
  { file: 'alias.eml', o: { set: ['max_num_recipients=2'] }, hit: true, reason: /To\/Cc name 2 addresses/ },
]);

table(maxSize, [
  { file: 'member-post.eml', o: { set: ['max_message_size_kb=1'] }, hit: false, reason: /within the 1 KiB limit/ },
  { file: 'cross-posted.eml', o: { set: ['max_message_size_kb=0'] }, hit: false, reason: /no size limit/ },
]);

table(noSubject, [
  { file: 'no-subject.eml', hit: true, reason: /^the post has no subject$/ },
  { file: 'member-post.eml', hit: false, reason: /has a subject/ },
]);

table(suspiciousHeader, [
  { file: 'suspicious.eml', o: { set: ['bounce_matching_headers+=X-Mailer: blaster'] }, hit: true, reason: /^x-mailer: "BulkBlaster Pro 9\.1" matches bounce_matching_headers "X-Mailer: blaster"$/ },
  { file: 'member-post.eml', o: { set: ['bounce_matching_headers+=X-Mailer: blaster'] }, hit: false, reason: /no bounce_matching_headers row matches/ },
]);

describe('approved never shows the password', () => {
  it('keeps the secret out of hit and miss reasons', () => {
    for (const file of ['approved-header.eml', 'approved-body.eml', 'approved-wrong.eml']) {
      const r = approved.check(input(file));
      assert.doesNotMatch(r.reason, new RegExp(PASSWORD));
      assert.doesNotMatch(r.reason, /password123/);
    }
  });
});

describe('approved with a moderator token', () => {
  const SECRET = 'site-secret-for-tests';
  const NOW = 1_800_000_000;
  const tokenFor = (list: string, kind: 'approval' | 'moderation', expiresAt = NOW + 86_400) =>
    issueToken(SECRET, { kind, action: 'approve', list, ref: Buffer.from('mo@example.net'), expiresAt } as TokenClaims);
  const withToken = (token: string) => {
    const raw = fixture('rules/approved-header.eml').toString('utf8').replace('Approved: s3cret-Pass', `Approved: ${token}`);
    const i = inputFor(Buffer.from(raw), { password: false });
    return { ...i, approvers: [tokenApprover(SECRET, LIST, NOW)] };
  };

  it('accepts a token issued for the list, naming who it was issued to, in any case', () => {
    for (const token of [tokenFor(LIST, 'approval'), tokenFor(LIST, 'approval').toUpperCase()]) {
      const r = approved.check(withToken(token));
      assert.equal(r.hit, true);
      assert.match(r.reason, /^the approved header carries a moderator token issued to mo@example\.net \(valid until \d{4}-\d\d-\d\d\)$/);
    }
  });

  it('refuses an expired token, one for another list, a moderation token and a tampered one, without showing them', () => {
    const good = tokenFor(LIST, 'approval');
    const tampered = `${good.slice(0, 10)}${good[10] === 'a' ? 'b' : 'a'}${good.slice(11)}`;
    for (const token of [tokenFor(LIST, 'approval', NOW - 1), tokenFor('other@lists.example.org', 'approval'), tokenFor(LIST, 'moderation'), tampered]) {
      const r = approved.check(withToken(token));
      assert.equal(r.hit, false, token);
      assert.equal(r.reason, 'the approved header does not carry the moderator password or a valid moderator token');
    }
  });
});
