// What parseBounce makes of real-shaped bounces, auto-replies and hostile input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBounce } from '../../mail/bounce.js';
import { fixture } from '../helpers/fixtures.js';

interface Case {
  file: string;
  isBounce: boolean;
  kind: 'dsn' | 'heuristic' | 'none';
  /** The failed or delayed recipients, lower-cased, with permanence and status. */
  bounced: { address: string; permanent: boolean; status: string | null }[];
}

const cases: Case[] = [
  { file: 'postfix-dsn.eml', isBounce: true, kind: 'dsn', bounced: [{ address: 'alice.smith@example.net', permanent: true, status: '5.1.1' }] },
  { file: 'delayed-dsn.eml', isBounce: true, kind: 'dsn', bounced: [{ address: 'carol@example.edu', permanent: false, status: '4.4.1' }] },
  { file: 'exim.eml', isBounce: true, kind: 'heuristic', bounced: [{ address: 'dave.jones@example.co.uk', permanent: true, status: null }] },
  { file: 'qmail.eml', isBounce: true, kind: 'heuristic', bounced: [{ address: 'eve@example.net', permanent: true, status: '5.1.1' }] },
  // Regression: Original-Recipient is preferred to an X.400 Final-Recipient, and 'failed' is final even with 4.4.7.
  { file: 'x400-expired-dsn.eml', isBounce: true, kind: 'dsn', bounced: [{ address: 'zoe@example.ac.uk', permanent: true, status: '4.4.7' }] },
  // Regression: a "confirm this mail server" rejection is challenge-response, not a dead address.
  { file: 'challenge-dsn.eml', isBounce: false, kind: 'dsn', bounced: [{ address: 'henry@example.biz', permanent: true, status: '5.0.0' }] },
  { file: 'vacation.eml', isBounce: false, kind: 'none', bounced: [] },
  { file: 'garbage.bin', isBounce: false, kind: 'none', bounced: [] },
];

describe('parseBounce on corpus-like fixtures', () => {
  for (const c of cases) {
    it(`${c.file} → ${c.isBounce ? `${c.kind} bounce of ${c.bounced.map((b) => b.address).join(', ')}` : 'not a bounce'}`, () => {
      const report = parseBounce(fixture(`bounces/${c.file}`));
      assert.equal(report.isBounce, c.isBounce, report.reason);
      assert.equal(report.kind, c.kind, report.reason);
      assert.ok(report.reason.length > 0);
      const bounced = report.recipients
        .filter((r) => r.action === 'failed' || r.action === 'delayed')
        .map((r) => ({ address: r.address.toLowerCase(), permanent: r.permanent, status: r.status }));
      assert.deepEqual(bounced, c.bounced);
    });
  }

  it('a DSN reports delivered recipients too, but only failed and delayed ones make it a bounce', () => {
    const report = parseBounce(fixture('bounces/postfix-dsn.eml'));
    const bob = report.recipients.find((r) => r.address === 'bob@example.com');
    assert.equal(bob?.action, 'delivered');
    const alice = report.recipients.find((r) => r.action === 'failed');
    assert.equal(alice?.smtpCode, 550);
    assert.match(alice?.diagnostic ?? '', /User unknown/);
  });
});

describe('parseBounce on hostile input never throws', () => {
  const nested = (depth: number) => {
    let head = 'Content-Type: multipart/report; report-type=delivery-status; boundary="b0"\r\n\r\n';
    for (let i = 1; i < depth; i++) head += `--b${i - 1}\r\nContent-Type: multipart/mixed; boundary="b${i}"\r\n\r\n`;
    return Buffer.from(`${head}--b${depth - 1}\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; x@example.org\r\nAction: failed\r\n`);
  };
  const inputs: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['binary', Buffer.from(Array.from({ length: 65_536 }, (_, i) => (i * 7919) % 256))],
    ['headers only', Buffer.from('Subject: Undelivered Mail\r\nFrom: MAILER-DAEMON@x\r\n')],
    ['5,000 nested parts', nested(5_000)],
    ['a DSN part that is empty', Buffer.from('Content-Type: multipart/report; boundary=x\n\n--x\nContent-Type: message/delivery-status\n\n--x--\n')],
    ['a DSN with no recipient fields', Buffer.from('Content-Type: multipart/report; boundary=x\n\n--x\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x\n\nAction: failed\n--x--\n')],
    // Regression: unbounded address patterns took 20 s on this (quadratic backtracking).
    ['a bounce body that is one 200,000-character local part', Buffer.from(`From: MAILER-DAEMON@x.example\nSubject: Undeliverable\n\nuser unknown ${'a'.repeat(200_000)}@${'b.'.repeat(50_000)}`)],
    ['a bounce of 100,000 double-spaced AOL screen names', Buffer.from(`From: MAILER-DAEMON@aol.com\n\nnot accepting mail from x:\n${'  ab  '.repeat(100_000)}@`)],
    ['a 10 MB bounce body', Buffer.from(`From: MAILER-DAEMON@x.example\nSubject: Undelivered Mail Returned to Sender\n\n<gone@example.org>: user unknown\n${'x'.repeat(10 * 1024 * 1024)}`)],
    ['100,000 lines of addresses and status codes', Buffer.from(`From: MAILER-DAEMON@x.example\nSubject: failure notice\n\n${Array.from({ length: 100_000 }, (_, i) => `  u${i}@example.org: 550 5.1.1 (expanded from: v${i}@example.org)`).join('\n')}`)],
    ['NUL bytes everywhere', Buffer.from(`From: MAILER-DAEMON@x\0.example\nSubject: Undeliverable\0\n\n${'\0<a@b.example>:\0 550\0 user unknown\n'.repeat(50_000)}`)],
    ['a 100,000-line delivery-status part', Buffer.from(`Content-Type: multipart/report; report-type=delivery-status; boundary=x\n\n--x\nContent-Type: message/delivery-status\n\n${'Final-Recipient: rfc822; a@b.example\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 ' + 'spam '.repeat(40) + '\n\n'.repeat(1)}`.repeat(1) + 'X: y\n'.repeat(100_000))],
  ];
  for (const [name, raw] of inputs) {
    it(name, () => {
      const started = performance.now();
      const report = parseBounce(raw);
      assert.ok(performance.now() - started < 2_000, 'parsing hostile input must stay fast');
      assert.equal(typeof report.isBounce, 'boolean');
      assert.ok(Array.isArray(report.recipients));
    });
  }
});
