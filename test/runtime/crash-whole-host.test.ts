// kill -9 of the whole host mid-fan-out: listflow, its Temporal dev server and its PostgreSQL all die at once,
// several times during a per-recipient fan-out to 20,000 members; each time `npm start` comes back on the same
// data. Every member gets the post; the only copies sent twice are the SMTP transactions in flight at each
// kill (the ledger's marks are committed synchronously, so none is lost with the database); and the post's
// status agrees with the ledger at the end.
import assert from 'node:assert/strict';
import { readdirSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { unrecordedBound } from '../../activities/deliver.js';
import { sendRaw } from '../helpers/stack.js';
import { embeddedSite, listflowCli, readOutbox, startListflow, type ListflowProcess } from '../helpers/listflow-process.js';

const MEMBERS = 20_000;
/** Kill points, drawn at random across the fan-out (LISTFLOW_TEST_CRASH_KILLS to change). */
const KILLS = Number(process.env.LISTFLOW_TEST_CRASH_KILLS ?? 6);
/** The delivery worker's SMTP connections (LISTFLOW_SMTP_CONNECTIONS). */
const CONNECTIONS = 8;

/** Accepted transactions so far: the outbox's `.json` envelopes (a name count, no reading). */
function sentSoFar(dataDir: string): number {
  const root = path.join(dataDir, 'outbox');
  if (!existsSync(root)) return 0;
  let n = 0;
  for (const day of readdirSync(root)) n += readdirSync(path.join(root, day)).filter((f) => f.endsWith('.json')).length;
  return n;
}

describe('kill -9 of the whole host during a fan-out', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'listflow-crash-'));
  let listflow: ListflowProcess | undefined;
  after(async () => {
    await listflow?.killAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`delivers to all ${MEMBERS} members across ${KILLS} kills, with duplicates only from transactions in flight`, { timeout: 900_000 }, async () => {
    const env = await embeddedSite(dataDir, { LISTFLOW_SMTP_CONNECTIONS: String(CONNECTIONS) });
    listflow = await startListflow(env);
    const list = 'crash@example.org';
    await listflowCli(env, ['lists', 'create', list, '--owner', 'owner@example.org']);
    await listflowCli(env, ['lists', 'set', list, 'delivery_mode=per-recipient', 'per_recipient_batch=500']);
    const roster = path.join(dataDir, 'roster.txt');
    writeFileSync(roster, Array.from({ length: MEMBERS }, (_, i) => `m${i}@example.net`).join('\n'));
    await listflowCli(env, ['members', 'add', list, '--file', roster, '--no-welcome']);
    const raw = Buffer.from(`From: m0@example.net\r\nTo: ${list}\r\nSubject: survive\r\nMessage-ID: <crash@example.net>\r\nDate: Sun, 06 Dec 2026 08:00:00 +0000\r\n\r\nOne copy each, whatever happens.\r\n`);
    const response = await sendRaw(listflow.smtpPort, 'm0@example.net', [list], raw);
    const id = /queued as (\S+)/.exec(response)?.[1] as string;
    assert.ok(id, response);

    const points = Array.from({ length: KILLS }, () => Math.floor(MEMBERS * (0.05 + 0.9 * Math.random()))).sort((a, b) => a - b);
    const resumedWithin: number[] = [];
    for (const point of points) {
      const deadline = Date.now() + 240_000;
      while (sentSoFar(dataDir) < point) {
        if (Date.now() > deadline) throw new Error(`stuck at ${sentSoFar(dataDir)} copies before the kill at ${point}:\n${listflow.output().slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      await listflow.killAll();
      const atKill = sentSoFar(dataDir);
      listflow = await startListflow(env);
      const restarted = Date.now();
      // Resumed at once: more copies go out well before the 900 s retry back-off a deferred batch would wait.
      while (sentSoFar(dataDir) === atKill && sentSoFar(dataDir) < MEMBERS) {
        if (Date.now() - restarted > 120_000) throw new Error(`no copy sent in 120 s after the restart at ${atKill}:\n${listflow.output().slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      resumedWithin.push(Date.now() - restarted);
    }

    const deadline = Date.now() + 300_000;
    let status = '';
    for (;;) {
      status = (await listflowCli(env, ['status', id, '--json'])).stdout;
      if (/"state":\s*"delivered"/.test(status)) break;
      if (Date.now() > deadline) throw new Error(`not delivered in time: ${status}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const parsed = JSON.parse(status) as { delivery: { total: number; sent: number; failed: number; pending: number } };
    assert.deepEqual(parsed.delivery, { total: MEMBERS, sent: MEMBERS, failed: 0, pending: 0 }, 'the status says what the ledger says');

    const perRecipient = new Map<string, number>();
    for (const copy of readOutbox(dataDir)) for (const to of copy.to) perRecipient.set(to, (perRecipient.get(to) ?? 0) + 1);
    assert.equal(perRecipient.size, MEMBERS, 'every member got the post');
    const duplicates = [...perRecipient.values()].reduce((a, n) => a + n - 1, 0);
    // Sent and not yet recorded at a kill: at most unrecordedBound(connections) transactions (the ledger's
    // marks are committed synchronously, so no commit window adds to it).
    const bound = KILLS * unrecordedBound(CONNECTIONS);
    console.log(`# ${KILLS} kills at ${points.join(', ')}; ${duplicates} duplicates (bound ${bound}); resumed within ${resumedWithin.join(', ')} ms`);
    assert.ok(duplicates <= bound, `${duplicates} duplicates after ${KILLS} kills: at most ${unrecordedBound(CONNECTIONS)} transactions are unrecorded at a kill`);

    assert.equal(await listflow.stop(), 0);
    listflow = undefined;
  });
});
