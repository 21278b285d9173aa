// Policy refusals (the list's problem) against dead, full or disabled mailboxes (the member's), on diagnostics
// as the big providers and the common MTAs word them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyDiagnostic, type BounceCategory } from '../../mail/bounce-category.js';
import { isPolicyRejection, parseBounce, type BounceRecipient } from '../../mail/bounce.js';
import { fixture } from '../helpers/fixtures.js';

const cases: [who: string, status: string | null, diagnostic: string, expected: BounceCategory][] = [
  // Gmail
  ['Gmail no such user', '5.1.1', "550-5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser - gsmtp", 'user_unknown'],
  ['Gmail disabled', '5.2.1', '550 5.2.1 The email account that you tried to reach is disabled. - gsmtp', 'user_disabled'],
  ['Gmail over quota', '5.2.2', "552-5.2.2 The recipient's inbox is out of storage space and inactive. https://support.google.com/mail/?p=OverQuotaPerm - gsmtp", 'over_quota'],
  ['Gmail unauthenticated (DMARC/SPF/DKIM)', '5.7.26', '550-5.7.26 This mail is unauthenticated, which poses a security risk to the sender and Gmail users, and has been blocked. The sender must authenticate with at least one of SPF or DKIM.', 'policy'],
  ['Gmail DMARC policy', '5.7.26', "550-5.7.26 Unauthenticated email from example.org is not accepted due to domain's DMARC policy.", 'policy'],
  ['Gmail likely unsolicited', '5.7.1', '550-5.7.1 [203.0.113.25] Our system has detected that this message is likely unsolicited mail. To reduce the amount of spam sent to Gmail, this message has been blocked.', 'spam'],
  ['Gmail rate limited (temporary)', '4.7.28', '421-4.7.28 [203.0.113.25] Our system has detected an unusual rate of unsolicited mail originating from your IP address.', 'spam'],
  ['Gmail "5.7.1 No such user" (status misused)', '5.7.1', '550 5.7.1 No such user c18si2365148hub', 'user_unknown'],
  // Outlook / Exchange Online
  ['Outlook recipient not found', '5.1.10', '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup', 'user_unknown'],
  ['Outlook block list', '5.7.1', "550 5.7.1 Unfortunately, messages from [203.0.113.25] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150).", 'spam'],
  ['Outlook DMARC', '5.7.509', '550 5.7.509 Access denied, sending domain example.org does not pass DMARC verification and has a DMARC policy of reject.', 'policy'],
  ['Exchange Online directory-based edge blocking', '5.4.1', '550 5.4.1 Recipient address rejected: Access denied. AS(201806281)', 'user_unknown'],
  ['Exchange mailbox full', '5.2.2', '554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded', 'over_quota'],
  ['Exchange disk space (status misused)', '5.7.0', 'The recipient mailbox has exceeded its disk space limit.', 'over_quota'],
  ['Exchange traffic not accepted', '5.7.708', '550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP.', 'policy'],
  ['RFC 5321 550 text mentioning policy', '5.0.0', '550 Requested action not taken: mailbox unavailable (for example, mailbox not found, no access, or command rejected for policy reasons)', 'user_unknown'],
  // Yahoo / AOL
  ['Yahoo no account', null, "554 delivery error: dd This user doesn't have a yahoo.com account (someone@yahoo.com) [0] - mta1001.mail.gq1.yahoo.com", 'user_unknown'],
  ['Yahoo policy', '5.7.9', '554 5.7.9 Message not accepted for policy reasons. See https://postmaster.yahooinc.com/error-codes', 'policy'],
  ['Yahoo TSS04 deferral', '4.7.0', '421 4.7.0 [TSS04] Messages from 203.0.113.25 temporarily deferred due to unexpected volume or user complaints', 'spam'],
  ['Yahoo disabled mailbox', null, '554 30 Sorry, your message to someone@yahoo.com cannot be delivered. This mailbox is disabled (554.30).', 'user_disabled'],
  ['AOL mailbox not found', '5.1.1', '550 MAILBOX NOT FOUND', 'user_unknown'],
  // Postfix
  ['Postfix user unknown', '5.1.1', '550 5.1.1 <x@example.net>: Recipient address rejected: User unknown in virtual mailbox table', 'user_unknown'],
  ['Postfix "user unknown (policy)" stays a user problem', '5.7.1', '550 5.7.1 <x@example.net>: user unknown (policy)', 'user_unknown'],
  ['Postfix host not found', '5.4.4', 'Host or domain name not found. Name service error for name=example.invalid type=A: Host not found', 'domain_error'],
  ['Postfix relay access denied', '5.7.1', '554 5.7.1 <x@example.net>: Relay access denied', 'domain_error'],
  ['Postfix RBL', '5.7.1', '554 5.7.1 Service unavailable; Client host [203.0.113.25] blocked using zen.spamhaus.org', 'spam'],
  ['Postfix sender address rejected', '5.1.8', '553 5.1.8 <list-bounces@example.org>: Sender address rejected: Domain not found', 'policy'],
  ['Postfix reverse DNS', '4.7.1', '450 4.7.1 Client host rejected: cannot find your reverse hostname, [203.0.113.25]', 'policy'],
  ['Postfix mailbox full', '5.2.2', '552 5.2.2 <x@example.net>: Recipient address rejected: Mailbox full', 'over_quota'],
  ['Postfix connection refused is no policy', '4.4.1', 'connect to mx.example.net[198.51.100.4]:25: Connection refused', 'domain_error'],
  // Exim, Sendmail, qmail, Domino
  ['Exim unrouteable address', null, '550 Unrouteable address', 'user_unknown'],
  ['Exim all MX to non-existent hosts', null, 'all relevant MX records point to non-existent hosts', 'domain_error'],
  ['Exim SpamAssassin', null, '550 rejected after DATA: Your message scored 15.2 SpamAssassin points', 'spam'],
  ['Exim administrative prohibition', null, '550 Administrative prohibition', 'policy'],
  ['Sendmail user unknown', '5.1.1', '550 5.1.1 <x@example.net>... User unknown', 'user_unknown'],
  ['Sendmail host unknown', '5.1.2', '550 Host unknown', 'domain_error'],
  ['qmail badrcptto with a 5.7.1 hint', '5.0.0', '553 sorry, badrcptto(user mail-box not found) (#5.7.1)', 'user_unknown'],
  ['Domino directory', null, 'User olga (olga@corp.example.com) not listed in Domino Directory', 'user_unknown'],
  ['status alone: 5.1.1', '5.1.1', '', 'user_unknown'],
  ['status alone: 5.7.1', '5.7.1', '', 'policy'],
  ['status alone: 4.4.7 expired', '4.4.7', 'retry timeout exceeded', 'unknown'],
  ['nothing to go on', null, '', 'unknown'],
];

const rcpt = (status: string | null, diagnostic: string): BounceRecipient => ({ address: 'x@example.net', action: 'failed', status, permanent: true, diagnostic, smtpCode: 550 });

describe('bounce reason categories', () => {
  for (const [who, status, diagnostic, expected] of cases) {
    it(`${who} → ${expected}`, () => {
      assert.equal(classifyDiagnostic(diagnostic, status), expected);
      // isPolicyRejection works on recipients built without a category too (the contract's original shape).
      assert.equal(isPolicyRejection(rcpt(status, diagnostic)), expected === 'policy' || expected === 'spam');
    });
  }

  it('a very long diagnostic is classified quickly and totally', () => {
    const started = performance.now();
    assert.equal(classifyDiagnostic(`550 ${'a '.repeat(500_000)} spam`, '5.0.0'), 'unknown');
    assert.ok(performance.now() - started < 200);
  });
});

describe('parseBounce sets the category and the policy verdict on real-shaped reports', () => {
  const table: [file: string, expected: [address: string, category: BounceCategory, policy: boolean, permanent: boolean][]][] = [
    ['gmail-dmarc.eml', [['frank.miller@gmail.com', 'policy', true, true]]],
    ['gmail-over-quota.eml', [['grace.hopper.fan@gmail.com', 'over_quota', false, true], ['henry.hill@gmail.com', 'user_unknown', false, true], ['ivy.disabled@gmail.com', 'user_disabled', false, true]]],
    ['outlook-blocklist.eml', [['jack.daniels@outlook.com', 'spam', true, true], ['kate.unknown@contoso.example', 'user_unknown', false, true]]],
    ['yahoo-policy.eml', [['larry.page.fan@yahoo.com', 'policy', true, true]]],
    ['yahoo-user-unknown.eml', [['mona.lisa.1503@yahoo.com', 'user_unknown', false, true]]],
    ['exim-delay.eml', [['nick.offline@slow.example.com', 'unknown', false, false]]],
    ['lotus-notes.eml', [['olga.ivanova@corp.example.com', 'user_unknown', false, true]]],
    // Sendmail names the alias the list actually sent to, as well as where it led.
    ['sendmail-expanded.eml', [['pat.smith@dept.univ.example.edu', 'user_unknown', false, true], ['psmith@univ.example.edu', 'user_unknown', false, true]]],
  ];
  for (const [file, expected] of table) {
    it(file, () => {
      const report = parseBounce(fixture(`bounces/${file}`));
      assert.equal(report.isBounce, true, report.reason);
      const got = report.recipients.filter((r) => r.action === 'failed' || r.action === 'delayed').map((r) => [r.address.toLowerCase(), r.category, isPolicyRejection(r), r.permanent]);
      assert.deepEqual(got, expected);
    });
  }

  it('Yahoo\'s "permanently deferred" is permanent, and a reputation block', () => {
    const [r] = parseBounce(fixture('bounces/yahoo-tss09.eml')).recipients;
    assert.equal(r?.address, 'rita.hayworth.fan@yahoo.com');
    assert.equal(r?.permanent, true);
    assert.equal(r?.category, 'spam');
    assert.equal(r && isPolicyRejection(r), true);
  });

  it('an X.400 Final-Recipient names no one: a bounce without a mail address (VERP still names the member)', () => {
    const report = parseBounce(fixture('bounces/x400-only-dsn.eml'));
    assert.deepEqual(report.recipients, []);
  });

  it('the Yahoo text bounce carries its SMTP code and status', () => {
    const [r] = parseBounce(fixture('bounces/yahoo-policy.eml')).recipients;
    assert.equal(r?.smtpCode, 554);
    assert.equal(r?.status, '5.7.9');
  });

  it('an ARF feedback report (a complaint) is not a bounce', () => {
    const report = parseBounce(fixture('bounces/arf-complaint.eml'));
    assert.equal(report.isBounce, false);
    assert.equal(report.method, 'feedback-report');
  });

  it('the method says how a verdict was reached', () => {
    assert.equal(parseBounce(fixture('bounces/postfix-dsn.eml')).method, 'dsn');
    assert.equal(parseBounce(fixture('bounces/exim.eml')).method, 'heuristic');
    assert.equal(parseBounce(fixture('bounces/vacation.eml')).method, 'auto-reply');
    assert.equal(parseBounce(fixture('bounces/challenge-dsn.eml')).method, 'challenge-response');
  });
});
