// STARTTLS: offered with a certificate (the operator's, or one made once in the data dir), so senders encrypt;
// without one it is neither offered nor accepted, and the session goes on in plain text.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import nodemailer from 'nodemailer';
import { selfSignedCertificate, selfSignedPaths } from '../../ingress/tls.js';
import { buildMessage, expectedWorkflowId, startIngress, storedFor } from '../helpers/ingress.js';
import { openDialogue } from '../helpers/smtp-dialogue.js';
import { createList, subscribe, useStack, waitForState } from '../helpers/stack.js';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'listflow-tls-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

/** The self-signed certificate the stack below offers, made before it starts. */
const certificate = await selfSignedCertificate(dataDir, 'listflow.test');

/** Talks SMTP through `openssl s_client -starttls smtp`; resolves with everything the server said after the handshake. */
function opensslSession(port: number, lines: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', ['s_client', '-starttls', 'smtp', '-connect', `127.0.0.1:${port}`, '-quiet', '-ign_eof'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, output }));
    child.stdin.end(lines.map((l) => `${l}\r\n`).join(''));
  });
}

describe('ingress STARTTLS', () => {
  it('makes the self-signed certificate once: key 0600 in <data>/tls, the same pair on the next start', async () => {
    const first = certificate;
    assert.equal(first.made, true);
    const files = selfSignedPaths(dataDir);
    assert.equal(statSync(files.key).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(files.key)).mode & 0o777, 0o700);
    const again = await selfSignedCertificate(dataDir, 'listflow.test');
    assert.equal(again.made, false);
    assert.equal(again.cert, first.cert);
    assert.equal(again.key, first.key);
  });

  describe('with a certificate', () => {
    const env = useStack({ tls: { cert: certificate.cert, key: certificate.key } });

    it('offers STARTTLS, and nodemailer upgrades and delivers a post', async () => {
      const list = await createList(env.stack.db);
      await subscribe(env.stack.db, list, ['alice@example.com']);
      const session = await openDialogue(env.stack.smtpPort);
      try {
        const ehlo = await session.command('EHLO sender.example');
        assert.ok(ehlo.lines.includes('STARTTLS'), ehlo.text);
      } finally {
        session.close();
      }
      const raw = await buildMessage({ from: 'alice@example.com', to: list, subject: 'over TLS' });
      // requireTLS: the send fails unless the upgrade happened; the certificate is self-signed, as opportunistic TLS allows.
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: env.stack.smtpPort, secure: false, requireTLS: true, tls: { rejectUnauthorized: false } });
      try {
        const info = await transport.sendMail({ envelope: { from: 'alice@example.com', to: [list] }, raw });
        const id = expectedWorkflowId('post', list, raw);
        assert.equal(info.response, `250 2.0.0 queued as ${id}`);
        await waitForState(env.stack.client, id, ['delivered']);
      } finally {
        transport.close();
      }
    });

    it('gives a TLS session\'s slot back when it ends: one connection per IP, three TLS sessions in turn', async () => {
      // Regression: after STARTTLS the plain socket never reports 'close', and the per-IP count leaked.
      const ingress = await startIngress(env.stack, { tls: { cert: certificate.cert, key: certificate.key }, limits: { maxConnectionsPerIp: 1 } });
      const list = await createList(env.stack.db);
      try {
        for (let i = 0; i < 3; i++) {
          const raw = await buildMessage({ from: 'alice@example.com', to: list, subject: `turn ${i}` });
          let response = '';
          // The server may not have seen the previous session's close yet: a 421 is retried for a moment.
          for (let attempt = 0; attempt < 30 && !response; attempt++) {
            const transport = nodemailer.createTransport({ host: '127.0.0.1', port: ingress.port, secure: false, requireTLS: true, tls: { rejectUnauthorized: false } });
            try {
              response = (await transport.sendMail({ envelope: { from: 'alice@example.com', to: [list] }, raw })).response;
            } catch (err) {
              if ((err as { responseCode?: number }).responseCode !== 421) throw err;
              await new Promise((r) => setTimeout(r, 100));
            } finally {
              transport.close();
            }
          }
          assert.equal(response, `250 2.0.0 queued as ${expectedWorkflowId('post', list, raw)}`, `session ${i}`);
        }
      } finally {
        await ingress.close();
      }
    });

    it('openssl s_client -starttls smtp delivers a post too', async () => {
      const list = await createList(env.stack.db);
      const raw = Buffer.from(`From: bob@example.com\r\nTo: ${list}\r\nSubject: openssl\r\nMessage-ID: <openssl-${Date.now()}@sender.example>\r\n\r\nHello over TLS.\r\n`);
      const { output } = await opensslSession(env.stack.smtpPort, [
        'EHLO sender.example',
        'MAIL FROM:<bob@example.com>',
        `RCPT TO:<${list}>`,
        'DATA',
        ...raw.toString().replace(/\r\n$/, '').split('\r\n'),
        '.',
        'QUIT',
      ]);
      const id = expectedWorkflowId('post', list, raw);
      // s_client reports the certificate it was shown: the handshake happened, with ours.
      assert.match(output, /CN ?= ?listflow\.test/, output);
      assert.match(output, new RegExp(`250 2\\.0\\.0 queued as ${id.replace(/[./]/g, '\\$&')}`), output);
      assert.deepEqual((await storedFor(env.stack.db, raw)).inbound, [{ workflowId: id, started: true }]);
    });
  });

  describe('without a certificate', () => {
    const env = useStack();

    it('neither offers nor accepts STARTTLS (smtp-server\'s built-in key is public), and the session goes on in plain text', async () => {
      const session = await openDialogue(env.stack.smtpPort);
      try {
        const ehlo = await session.command('EHLO sender.example');
        assert.ok(!ehlo.lines.includes('STARTTLS'), ehlo.text);
        const starttls = await session.command('STARTTLS');
        assert.equal(starttls.code, 500, starttls.text);
        assert.equal((await session.command('MAIL FROM:<alice@example.com>')).code, 250);
      } finally {
        session.close();
      }
    });
  });
});
