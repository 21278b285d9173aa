// README's "Try it", step by step, on `npm start`'s embedded defaults (PostgreSQL, dev server, outbox): a
// member's post is delivered, a nonmember's is held, a restart keeps it held, `listflow approve` delivers it,
// and the log says nothing went wrong.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { sendRaw } from '../helpers/stack.js';
import { embeddedSite, listflowCli, readOutbox, startListflow, type ListflowProcess } from '../helpers/listflow-process.js';

function mail(from: string, subject: string): Buffer {
  return Buffer.from(`From: ${from}\r\nTo: dev@example.org\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.net>\r\nDate: Sun, 06 Dec 2026 08:00:00 +0000\r\n\r\nHello.\r\n`);
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("README's demo on embedded defaults", () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'listflow-demo-'));
  let listflow: ListflowProcess | undefined;
  after(async () => {
    await listflow?.killAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('delivers, holds, keeps the hold across a restart, approves, with a clean log', async () => {
    const env = await embeddedSite(dataDir);
    listflow = await startListflow(env);
    let log = listflow.output();
    await listflowCli(env, ['lists', 'create', 'dev@example.org', '--owner', 'owner@example.org']);
    await listflowCli(env, ['members', 'add', 'dev@example.org', 'alice@example.org', 'bob@example.org']);

    const hello = await sendRaw(listflow.smtpPort, 'alice@example.org', ['dev@example.org'], mail('alice@example.org', 'hello'));
    assert.match(hello, /^250 2\.0\.0 queued as post\/dev@example\.org\/[0-9a-f]{16}$/);
    await until('the post in the outbox', () => {
      const copies = readOutbox(dataDir, true).filter((c) => /^Subject: .*hello/m.test(c.eml));
      return copies.length ? copies : undefined;
    }).then((copies) => assert.deepEqual(copies.flatMap((c) => c.to).sort(), ['alice@example.org', 'bob@example.org']));

    const mayI = await sendRaw(listflow.smtpPort, 'stranger@example.net', ['dev@example.org'], mail('stranger@example.net', 'may I'));
    const id = /queued as (\S+)/.exec(mayI)?.[1] as string;
    const held = await until('the post listed as held', async () => {
      const r = await listflowCli(env, ['held']);
      return r.stdout.includes(id.split('/').pop() as string) ? r.stdout : undefined;
    });
    assert.match(held, /may I/);
    // The moderators' notice is in the outbox too (to the owner).
    await until('the moderator notice', () => (readOutbox(dataDir).some((c) => c.to.includes('owner@example.org')) ? true : undefined));

    log += listflow.output();
    assert.equal(await listflow.stop(), 0);
    listflow = await startListflow(env);
    const status = await listflowCli(env, ['status', id, '--json']);
    assert.match(status.stdout, /"state":\s*"held"/, 'still held after the restart');

    const approved = await listflowCli(env, ['approve', id]);
    assert.match(approved.stdout, new RegExp(`^approved ${id} `));
    await until('the approved post in the outbox', () => (readOutbox(dataDir, true).some((c) => /^Subject: .*may I/m.test(c.eml)) ? true : undefined));
    const again = await listflowCli(env, ['approve', id]).catch((err: Error) => err.message);
    assert.match(String(again), /not held any more/);

    log += listflow.output();
    assert.equal(await listflow.stop(), 0);
    listflow = undefined;
    assert.doesNotMatch(log, /error|malformed|failed|cannot/i, `no error in the log:\n${log}`);
  });
});
