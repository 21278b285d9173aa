// What bounce processing makes of a parsed report: which member, counted or not, forwarded or not.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBounce } from '../../mail/bounce.js';
import { classifyBounce, classifySmtpRefusal, isFeedbackReport } from '../../mail/bounce-classify.js';
import { bounceMessage } from '../helpers/bounces.js';

const LIST = 'dev@lists.example';
const MEMBER = 'Alice@Members.example';

function verdict(name: string, o: { verp?: boolean; members?: string[] } = {}) {
  const { raw } = bounceMessage(name, { list: LIST, member: MEMBER.toLowerCase(), ...(o.verp ? { verp: 'abc123' } : {}) });
  const members = new Map((o.members ?? [MEMBER]).map((m) => [m.toLowerCase(), m]));
  return classifyBounce(parseBounce(raw), {
    verpMember: o.verp ? { address: MEMBER } : null,
    memberFor: (a) => members.get(a.toLowerCase()) ?? null,
    feedbackReport: false,
  });
}

describe('classifyBounce', () => {
  it('a DSN for a member is a permanent failure found by the report, matched without regard to case', () => {
    const v = verdict('dsn-user-unknown.eml');
    assert.equal(v.kind, 'bounce');
    assert.equal(v.forward, false);
    assert.deepEqual(v.failures.map((f) => [f.address, f.classification, f.method, f.status]), [[MEMBER, 'permanent', 'dsn', '5.1.1']]);
  });

  it('a VERP bounce names the member even when the report names a forwarding address', () => {
    const v = verdict('verp-forwarded.eml', { verp: true, members: [] });
    assert.deepEqual(v.failures.map((f) => [f.address, f.classification, f.method]), [[MEMBER, 'permanent', 'verp']]);
  });

  it('an Exim text bounce is found by the heuristics', () => {
    const v = verdict('heuristic-exim.eml');
    assert.deepEqual(v.failures.map((f) => [f.address, f.classification, f.method]), [[MEMBER, 'permanent', 'heuristic']]);
  });

  it('a DMARC refusal (5.7.1) is the list\'s problem, not the member\'s', () => {
    const v = verdict('policy-dmarc.eml');
    assert.deepEqual(v.failures.map((f) => [f.address, f.classification]), [[MEMBER, 'policy']]);
  });

  it('an auto-reply to a member\'s VERP address is recorded for the member, not counted and not forwarded', () => {
    const v = verdict('vacation.eml', { verp: true });
    assert.equal(v.kind, 'auto-reply');
    assert.equal(v.autoReplyFrom, MEMBER);
    assert.equal(v.failures.length, 0);
    assert.equal(v.forward, false);
  });

  it('an auto-reply without VERP, a person\'s note and a bounce for a nonmember go to the owners with the reason', () => {
    const vacation = verdict('vacation.eml');
    assert.equal(vacation.kind, 'not-bounce');
    assert.equal(vacation.forward, true);
    const note = verdict('human-note.eml');
    assert.equal(note.kind, 'not-bounce');
    assert.match(note.why, /not recognised as a bounce/);
    const stranger = verdict('nonmember-dsn.eml');
    assert.equal(stranger.kind, 'unrecognised');
    assert.equal(stranger.forward, true);
    assert.match(stranger.why, /naming no member of the list \(stranger-/);
  });

  it('a feedback report is never counted as a bounce', () => {
    assert.equal(isFeedbackReport('multipart/report; report-type=feedback-report; boundary="x"'), true);
    assert.equal(isFeedbackReport('multipart/report; report-type=delivery-status'), false);
    const { raw } = bounceMessage('dsn-user-unknown.eml', { list: LIST, member: MEMBER });
    const v = classifyBounce(parseBounce(raw), { verpMember: null, memberFor: () => MEMBER, feedbackReport: true });
    assert.equal(v.kind, 'not-bounce');
    assert.equal(v.forward, true);
  });

  it('a refusal during delivery: 5.1.1 is permanent, 5.7.x and DMARC texts are policy', () => {
    assert.equal(classifySmtpRefusal('a@x.example', 550, '550 5.1.1 no such user').classification, 'permanent');
    assert.equal(classifySmtpRefusal('a@x.example', 550, '550 5.7.1 rejected by DMARC policy').classification, 'policy');
    assert.equal(classifySmtpRefusal('a@x.example', 554, '554 message refused: listed on a blocklist').classification, 'policy');
    assert.equal(classifySmtpRefusal('a@x.example', 550, '550 5.7.1 x').status, '5.7.1');
  });
});
