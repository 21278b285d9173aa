// `npm start` on embedded defaults under the load a newcomer's first busy hour brings: 300 posts at once while
// the CLI reads and adds 5,000 members to another list. Each post is delivered exactly once, with its own
// body (the embedded database used to mix up concurrent connections' statements and lose or swap posts).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import nodemailer from 'nodemailer';
import { embeddedSite, listflowCli, readOutbox, startListflow, type ListflowProcess } from '../helpers/listflow-process.js';

const POSTS = 300;
const MEMBERS = ['alice@example.org', 'bob@example.org', 'carol@example.org'];

describe('npm start on embedded defaults, under a burst', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'listflow-burst-'));
  let listflow: ListflowProcess | undefined;
  after(async () => {
    await listflow?.killAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('delivers 300 concurrent posts exactly once each, with its own body, while the CLI reads and adds 5,000 members', async () => {
    const env = await embeddedSite(dataDir);
    listflow = await startListflow(env);
    await listflowCli(env, ['lists', 'create', 'dev@example.org', '--owner', 'owner@example.org']);
    await listflowCli(env, ['lists', 'create', 'big@example.org', '--owner', 'owner@example.org']);
    await listflowCli(env, ['members', 'add', 'dev@example.org', ...MEMBERS, '--no-welcome']);
    const roster = path.join(dataDir, 'roster.txt');
    writeFileSync(roster, Array.from({ length: 5000 }, (_, i) => `m${i}@example.net`).join('\n'));

    const markers = Array.from({ length: POSTS }, (_, i) => `post-${i}-${randomBytes(6).toString('hex')}`);
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: listflow.smtpPort, pool: true, maxConnections: 10, maxMessages: Infinity, ignoreTLS: true });
    const sending = Promise.all(
      markers.map((m) =>
        transport.sendMail({ from: 'alice@example.org', to: 'dev@example.org', subject: m, text: `This is ${m} and nothing else.\n` }).then((info) => info.response),
      ),
    );
    // Meanwhile, what an operator would do: add a big roster to another list, look at the queue and the list.
    const cli = Promise.all([
      listflowCli(env, ['members', 'add', 'big@example.org', '--file', roster, '--no-welcome']),
      listflowCli(env, ['held']),
      listflowCli(env, ['lists', 'show', 'dev@example.org']),
      listflowCli(env, ['members', 'list', 'dev@example.org']),
    ]);
    const responses = await sending;
    transport.close();
    const [added, , shown, members] = await cli;
    assert.match(added.stdout, /5,000 added/);
    assert.match(shown.stdout, /dev@example\.org/);
    for (const m of MEMBERS) assert.match(members.stdout, new RegExp(m.replace('.', '\\.')));
    assert.equal(responses.filter((r) => /^250 /.test(r)).length, POSTS, 'every post got 250');

    const deadline = Date.now() + 180_000;
    let copies = readOutbox(dataDir, true).filter((c) => c.eml.includes('This is post-'));
    while (copies.length < POSTS && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      copies = readOutbox(dataDir, true).filter((c) => c.eml.includes('This is post-'));
    }
    // A little longer, so a duplicate sent late is seen too.
    await new Promise((r) => setTimeout(r, 1000));
    copies = readOutbox(dataDir, true).filter((c) => c.eml.includes('This is post-'));

    const byMarker = new Map<string, string[][]>();
    for (const c of copies) {
      const found = markers.filter((m) => c.eml.includes(`This is ${m} and`));
      assert.equal(found.length, 1, `a copy carries exactly one post's body (found ${found.length})`);
      const m = found[0] as string;
      assert.match(c.eml, new RegExp(`^Subject: (\\[dev\\] )?${m}\\r?$`, 'm'), 'its own subject too');
      byMarker.set(m, [...(byMarker.get(m) ?? []), c.to.slice().sort()]);
    }
    const missing = markers.filter((m) => !byMarker.has(m));
    assert.deepEqual(missing, [], 'every post was delivered');
    const twice = [...byMarker].filter(([, sends]) => sends.length !== 1).map(([m]) => m);
    assert.deepEqual(twice, [], 'no post was delivered twice');
    for (const [, [to]] of byMarker) assert.deepEqual(to, MEMBERS.slice().sort());

    const out = listflow.output();
    assert.doesNotMatch(out, /malformed|no longer exists|error/i, 'nothing went wrong in the log');
    assert.equal(await listflow.stop(), 0);
    listflow = undefined;
  });
});
