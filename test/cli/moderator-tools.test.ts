// Moderator tools the anchors lack, run as the real `listflow` command against a real stack: defer with a
// note, approve an edited version, and clearing a flood of held spam (held --from/--summary, discard --all --ban).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it, after } from 'node:test';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { heldQuery } from '../../cli/held.js';
import { normalizeLineEnds } from '../../mail/edited.js';
import { resolveBinary, TEMPORAL_CLI } from '../../runtime/temporal-binary.js';
import { createApiToken } from '../../store/api-tokens.js';
import { bansFor, listBans } from '../../store/bans.js';
import { getList } from '../../store/lists.js';
import { findMessage, getMessage, sha256Hex, putMessage } from '../../store/messages.js';
import { moderateUpdate, statusQuery, type PostStatus } from '../../workflows/messages.js';
import { addresses, inState, watchPost } from '../helpers/post-status.js';
import { mailFor } from '../helpers/read-mail.js';
import { createList, post, queuedId, subscribe, useStack } from '../helpers/stack.js';
import { devServerAddress, uniqueName } from '../helpers/temporal.js';
import { createWebServer } from '../../web/server.js';
import { workflowBundle } from '../../workers/index.js';
import { runCli } from './run-cli.js';

describe('moderator tools: defer, approve --edited, and clearing a spam flood', () => {
  const env = useStack();
  const cli = (...args: string[]) => runCli({ DATABASE_URL: env.stack.database.url, TEMPORAL_ADDRESS: devServerAddress() }, args);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'listflow-edited-'));
  const started: string[] = [];

  after(async () => {
    // Posts left held would wait for days on the shared dev server and show up in other files' `held`.
    await Promise.allSettled(started.map((id) => env.stack.client.workflow.getHandle(id).terminate('test finished')));
  });

  /** A list with two members (a nonmember's post is held there). */
  async function newList(): Promise<{ list: string; members: string[] }> {
    const list = await createList(env.stack.db);
    const members = addresses(2, uniqueName('tools'));
    await subscribe(env.stack.db, list, members);
    return { list, members };
  }

  /** A nonmember's post, sent over SMTP, once it is held. */
  async function heldPost(list: string, from: string, subject = 'may I post?', text = 'Hello list.\n'): Promise<{ id: string; raw: Buffer; status: PostStatus }> {
    const { response, raw } = await post(env.stack.smtpPort, { from, to: list, subject, text });
    const id = queuedId(response);
    started.push(id);
    const { status } = await watchPost(env.stack.client, id, inState('held'), 'held');
    return { id, raw, status };
  }

  /** The hash of the message as ingress stored it (the workflow's claim check). */
  async function inboundSha(id: string): Promise<string> {
    const { rows } = await env.stack.db.query<{ sha256: string }>('SELECT sha256 FROM inbound WHERE workflow_id = $1', [id]);
    return rows[0]?.sha256 ?? '';
  }

  const query = (id: string) => env.stack.client.workflow.getHandle(id).query(statusQuery);

  /** Visibility is eventually consistent: wait until it counts `n` held posts for the query. */
  async function untilVisibleHeld(visibility: string, n: number): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { count } = await env.stack.client.workflow.count(visibility);
      if (count === n) return;
      if (Date.now() > deadline) throw new Error(`visibility counts ${count} for ${visibility}, expected ${n}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  function file(name: string, content: string | Buffer): string {
    const p = path.join(dir, name);
    writeFileSync(p, content);
    return p;
  }

  /** The stock `temporal` CLI, as an operator without listflow's CLI would use it. */
  function temporal(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const bin = resolveBinary(TEMPORAL_CLI);
    if (bin.kind !== 'path') throw new Error('no temporal CLI binary (tools/)');
    return new Promise((resolve) => {
      execFile(bin.path, [...args, '--address', devServerAddress(), '--namespace', 'default'], { timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      });
    });
  }

  it('defer keeps the post held with its expiry unchanged; the notes (CLI and signal) show in status and held', async () => {
    const { list } = await newList();
    const { id, status: before } = await heldPost(list, `author-${uniqueName('d')}@outside.example`, 'Needs a second look');

    const deferred = await cli('defer', id, '--note', 'asked the author for a source');
    assert.equal(deferred.code, 0, deferred.stderr);
    assert.match(deferred.stdout, new RegExp(`^deferred ${id} \\(still held until \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ; 1 note\\)\\n$`));

    // The stock CLI's form: a `defer` signal with a note.
    const signalled = await temporal(['workflow', 'signal', '--workflow-id', id, '--name', 'defer', '--input', JSON.stringify({ by: 'ops@example.org', note: 'still waiting' })]);
    assert.equal(signalled.code, 0, signalled.stderr);
    const { status: after } = await watchPost(env.stack.client, id, (s) => (s.decision.notes?.length ?? 0) === 2, 'two notes');
    assert.equal(after.state, 'held');
    assert.equal(after.heldUntil, before.heldUntil, 'the hold timer is not restarted');
    assert.equal(after.decision.moderation, undefined);
    const [first, second] = after.decision.notes ?? [];
    assert.equal(first?.note, 'asked the author for a source');
    assert.match(first?.by ?? '', /^cli:\S+$/);
    assert.ok(Date.parse(first?.at ?? '') <= Date.parse(second?.at ?? ''));
    assert.deepEqual([second?.note, second?.by], ['still waiting', 'ops@example.org']);

    const shown = await cli('status', id);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^\s+state\s+held \(until .+\)$/m);
    assert.match(shown.stdout, /^\s+notes\s+deferred by cli:\S+ at \d{4}-.+Z: asked the author for a source$/m);
    assert.match(shown.stdout, /^\s+deferred by ops@example\.org at \d{4}-.+Z: still waiting$/m);

    const heldList = await cli('held', list);
    assert.equal(heldList.code, 0, heldList.stderr);
    const lines = heldList.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 4, heldList.stdout);
    assert.match(lines[1] ?? '', new RegExp(`^${id}\\s+author-.+Needs a second look`));
    assert.match(lines[2] ?? '', /^ {4}deferred by cli:\S+ at .+: asked the author for a source$/);
    const heldJson = JSON.parse((await cli('held', list, '--json')).stdout) as { notes: { note: string }[] }[];
    assert.deepEqual(heldJson[0]?.notes.map((n) => n.note), ['asked the author for a source', 'still waiting']);

    // Once decided, a defer changes nothing and the command says so.
    assert.equal((await cli('discard', id)).code, 0);
    const late = await cli('defer', id, '--note', 'too late');
    assert.equal(late.code, 1);
    assert.equal(late.stderr, `listflow: ${id} is not held any more (it is discarded)\n`);
    const final = await env.stack.client.workflow.getHandle(id).result();
    assert.equal(final.decision.notes?.length, 2);
  });

  it('approve --edited delivers the corrected version; status says edited, by whom, with both hashes; the original stays stored', async () => {
    const { list, members } = await newList();
    const author = `author-${uniqueName('e')}@outside.example`;
    const { id, raw } = await heldPost(list, author, 'Orignal subjct with typos', 'The original body, with a typo: teh.\n');
    // As a moderator's editor saves it: LF line ends, new subject and body.
    const edited = ['From: ' + author, `To: ${list}`, 'Subject: Original subject, corrected', 'Message-ID: <edited-1@sender.example>', '', 'The corrected body: the.', ''].join('\n');
    const editedFile = file('edited.eml', edited);
    const editedSha = sha256Hex(normalizeLineEnds(Buffer.from(edited)));

    const approved = await cli('approve', id, '--edited', editedFile);
    assert.equal(approved.code, 0, approved.stderr);
    assert.match(approved.stdout, new RegExp(`^approved ${id} with the edited message \\(sha256 ${editedSha}\\) \\(it is (accepted|delivering|delivered) now\\)\\n$`));

    const { status } = await watchPost(env.stack.client, id, inState('delivered'), 'delivered');
    assert.deepEqual(status.delivery, { total: 2, sent: 2, failed: 0, pending: 0 });
    const m = status.decision.moderation;
    assert.equal(m?.action, 'approve');
    assert.match(m?.edited?.by ?? '', /^cli:\S+$/);
    assert.equal(m?.edited?.by, m?.by);
    const original = await inboundSha(id);
    assert.equal(m?.edited?.originalSha256, original);
    assert.equal(m?.edited?.editedSha256, editedSha);
    assert.equal(m?.edited?.subject, 'Original subject, corrected');

    await env.recorder.waitFor(() => members.every((a) => mailFor(env.recorder.received, a).some((r) => r.isListCopy)));
    for (const member of members) {
      const copies = mailFor(env.recorder.received, member).filter((r) => r.isListCopy);
      assert.equal(copies.length, 1);
      // The list's subject prefix (Mailman's default "[display name] ") goes in front of the edited subject.
      assert.match(copies[0]?.subject ?? '', /^\[[^\]]+\] Original subject, corrected$/);
      assert.match(copies[0]?.text ?? '', /The corrected body: the\./);
      assert.doesNotMatch(copies[0]?.text ?? '', /teh/);
    }
    // The archive's copy (the decorated message) is the edited one; the original is kept as received.
    const { rows } = await env.stack.db.query<{ decorated_sha256: string }>('SELECT decorated_sha256 FROM posts WHERE workflow_id = $1', [id]);
    assert.match((await getMessage(env.stack.db, rows[0]?.decorated_sha256 ?? '')).toString('utf8'), /^Subject: \[[^\]]+\] Original subject, corrected\r$/m);
    // The sending client's bytes went over SMTP with CRLF line ends; that is what ingress stored.
    assert.deepEqual(await getMessage(env.stack.db, original), normalizeLineEnds(raw));

    const shown = await cli('status', id);
    assert.match(shown.stdout, /^\s+edited\s+by cli:\S+: members get "Original subject, corrected"$/m);
    assert.ok(shown.stdout.includes(`original sha256 ${original}`) && shown.stdout.includes(`edited   sha256 ${editedSha}`), shown.stdout);
  });

  it('a bad --edited file is one clear line and exit 1, and the post stays held', async () => {
    const { list } = await newList();
    const { id } = await heldPost(list, `author-${uniqueName('b')}@outside.example`, 'Held for a bad edit');
    const cases: [string, string][] = [
      [file('empty.eml', ''), 'is empty'],
      [file('picture.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52])), 'is binary (it has NUL bytes), not a message'],
      [file('body-only.eml', 'Dear moderators,\nhere is the corrected text.\n'), 'does not start with a header block (From:, Subject:, … then a blank line)'],
      [file('no-from.eml', 'Subject: corrected\nTo: x@example.org\n\nbody\n'), 'has no From: header with an address'],
      [file('no-subject.eml', 'From: a@example.org\n\nbody\n'), 'has no Subject: header'],
      [file('broken-header.eml', 'From: a@example.org\nSubject: s\nthis line is no header\n\nbody\n'), 'has a line in its header block that is not a header field (line 3)'],
    ];
    for (const [f, problem] of cases) {
      const r = await cli('approve', id, '--edited', f);
      assert.equal(r.code, 1, `${f}: ${r.stdout}`);
      assert.equal(r.stderr, `listflow: the edited message ${f} ${problem}; nothing was approved\n`);
      assert.equal(r.stdout, '');
    }
    const missing = path.join(dir, 'no-such-file.eml');
    const r = await cli('approve', id, '--edited', missing);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^listflow: cannot read the edited message ${missing.replace(/[.]/g, '\\.')}: ENOENT.*\\n$`));
    const wrongCommand = await cli('reject', id, '--edited', cases[0]?.[0] ?? '');
    assert.equal(wrongCommand.code, 1);
    assert.match(wrongCommand.stderr, /unknown option '--edited'/);

    const status = await query(id);
    assert.equal(status.state, 'held');
    assert.equal(status.decision.moderation, undefined);
  });

  it('the approve signal and the update take an edited message by hash; a hash not in the store changes nothing', async () => {
    const { list, members } = await newList();
    const author = `author-${uniqueName('s')}@outside.example`;
    const { id } = await heldPost(list, author, 'Held, to be edited by signal');
    const unknown = 'ab'.repeat(32);

    // The update refuses at once: nothing is decided.
    const handle = env.stack.client.workflow.getHandle(id);
    await assert.rejects(
      env.stack.client.connection.withDeadline(Date.now() + 20_000, () => handle.executeUpdate(moderateUpdate, { args: [{ action: 'approve', by: 'script', editedSha256: unknown }] })),
      (err: unknown) => err instanceof WorkflowUpdateFailedError && /is not in the message store/.test(String(err.cause?.message)),
    );
    await assert.rejects(
      handle.executeUpdate(moderateUpdate, { args: [{ action: 'reject', editedSha256: unknown }] }),
      (err: unknown) => err instanceof WorkflowUpdateFailedError && /editedSha256 goes with approve/.test(String(err.cause?.message)),
    );
    const deferred = await handle.executeUpdate(moderateUpdate, { args: [{ action: 'defer', note: 'will fix the subject', by: 'script' }] });
    assert.deepEqual(deferred.decision.notes?.map((n) => n.note), ['will fix the subject']);
    // The signal cannot answer: the post stays held, and a note says why.
    const bad = await temporal(['workflow', 'signal', '--workflow-id', id, '--name', 'approve', '--input', JSON.stringify({ by: 'ops@example.org', editedSha256: unknown })]);
    assert.equal(bad.code, 0, bad.stderr);
    const { status: stillHeld } = await watchPost(env.stack.client, id, (s) => (s.decision.notes?.length ?? 0) === 2, 'a second note');
    assert.equal(stillHeld.state, 'held');
    assert.equal(stillHeld.decision.notes?.[1]?.by, 'listflow');
    assert.match(stillHeld.decision.notes?.[1]?.note ?? '', new RegExp(`^approval by ops@example\\.org not taken: the edited message ${unknown} is not in the message store$`));
    assert.equal(await findMessage(env.stack.db, unknown), null);

    const edited = Buffer.from([`From: ${author}`, `To: ${list}`, 'Subject: Edited through the signal', '', 'Edited body.', ''].join('\r\n'));
    const sha = await putMessage(env.stack.db, edited);
    const good = await temporal(['workflow', 'signal', '--workflow-id', id, '--name', 'approve', '--input', JSON.stringify({ by: 'ops@example.org', editedSha256: sha })]);
    assert.equal(good.code, 0, good.stderr);
    const { status } = await watchPost(env.stack.client, id, inState('delivered'), 'delivered');
    assert.deepEqual([status.decision.moderation?.by, status.decision.moderation?.edited?.editedSha256], ['ops@example.org', sha]);
    await env.recorder.waitFor(() => members.every((a) => mailFor(env.recorder.received, a).some((r) => r.isListCopy && r.subject.endsWith('] Edited through the signal'))));

    // Determinism: the history these handlers made (a defer, activities run from an update and a signal) replays.
    await handle.result();
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle(), replayName: 'edited-approval' }, await handle.fetchHistory());
  });

  it('the HTTP API defers with a note and approves an edited message by hash (400 for a bad hash, 422 for one not stored)', async () => {
    const { list, members } = await newList();
    const author = `author-${uniqueName('w')}@outside.example`;
    const { id } = await heldPost(list, author, 'Held, for the web');
    const server = createWebServer({ db: env.stack.db, client: env.stack.client });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/posts/${encodeURIComponent(id)}/moderate`;
      const tokenName = uniqueName('moderator-web');
      const headers = { authorization: `Bearer ${await createApiToken(env.stack.db, tokenName, 'test')}` };
      const send = (body: unknown) => fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });

      const deferred = await send({ action: 'defer', note: 'checking with the author', by: 'alice' });
      assert.equal(deferred.status, 200);
      const body = (await deferred.json()) as PostStatus;
      assert.equal(body.state, 'held');
      assert.deepEqual(body.decision.notes?.map((n) => [n.by, n.note]), [[`token:${tokenName}`, 'checking with the author']]);

      const notAHash = await send({ action: 'approve', editedSha256: 'deadbeef' });
      assert.equal(notAHash.status, 400);
      assert.match(((await notAHash.json()) as { error: string }).error, /SHA-256/);
      const notStored = await send({ action: 'approve', editedSha256: 'cd'.repeat(32) });
      assert.equal(notStored.status, 422);
      assert.match(((await notStored.json()) as { error: string }).error, /is not in the message store/);
      assert.equal((await query(id)).state, 'held');

      const sha = await putMessage(env.stack.db, Buffer.from([`From: ${author}`, 'Subject: Edited on the web', '', 'Web body.', ''].join('\r\n')));
      const approved = await send({ action: 'approve', editedSha256: sha, by: 'alice' });
      assert.equal(approved.status, 200);
      const done = (await approved.json()) as PostStatus;
      assert.deepEqual([done.decision.moderation?.by, done.decision.moderation?.edited?.editedSha256], [`token:${tokenName}`, sha], "the token's name, not the body's by");
      await env.recorder.waitFor(() => members.every((a) => mailFor(env.recorder.received, a).some((r) => r.isListCopy && r.subject.endsWith('] Edited on the web'))));
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('a flood of 30 held posts from 3 spammers: held --from filters, discard --all --from --ban clears exactly them and bans them', async () => {
    const tag = uniqueName('flood');
    const spamDomain = `spam-${tag}.example`;
    const spammers = [1, 2, 3].map((n) => `bot${n}@${spamDomain}`);
    const a = await newList();
    const b = await newList();
    // 20 on list A and 10 on list B; two legitimate held posts on A, one from an address that only looks alike.
    const flood: string[] = [];
    for (let i = 0; i < 30; i++) {
      const { response } = await post(env.stack.smtpPort, { from: spammers[i % 3] as string, to: i < 20 ? a.list : b.list, subject: `cheap pills ${i}` });
      flood.push(queuedId(response));
    }
    started.push(...flood);
    const legit = [
      (await heldPost(a.list, `newcomer-${tag}@outside.example`, 'a real question')).id,
      (await heldPost(a.list, `bot1@${spamDomain}.org`, 'a lookalike address, not the spammer')).id,
    ];
    for (const id of flood) await watchPost(env.stack.client, id, inState('held'), 'held');
    await untilVisibleHeld(heldQuery(a.list), 22);
    await untilVisibleHeld(heldQuery(b.list), 10);

    // The 'u' flag patterns get allows no needless escapes: only the dots are escaped.
    const pattern = `^.*@${spamDomain.replace(/\./g, '\\.')}$`;
    const byRegex = JSON.parse((await cli('held', a.list, '--from', pattern, '--json')).stdout) as { workflowId: string; sender: string }[];
    assert.equal(byRegex.length, 20);
    assert.ok(byRegex.every((p) => spammers.includes(p.sender)));
    const exact = await cli('held', a.list, '--from', (spammers[0] as string).toUpperCase());
    assert.equal(exact.code, 0, exact.stderr);
    // bot1 sent posts 0, 3, …, 18 to A: seven of them.
    assert.equal(exact.stdout.trimEnd().split('\n').filter((l) => l.startsWith('post/')).length, 7, exact.stdout);
    assert.match(exact.stdout, new RegExp(`^7 held posts from ${(spammers[0] as string).toUpperCase()}$`, 'm'));
    const badPattern = await cli('held', '--from', 'not a pattern');
    assert.equal(badPattern.code, 1);
    assert.equal(badPattern.stderr, 'listflow: --from: "not a pattern" is neither an address nor a regular expression (start those with ^)\n');
    const badRegex = await cli('discard', '--all', '--from', '^(unclosed');
    assert.equal(badRegex.code, 1);
    assert.match(badRegex.stderr, /^listflow: --from: "\^\(unclosed" is not a valid regular expression: .+\n$/);
    const noFrom = await cli('discard', '--all');
    assert.equal(noFrom.code, 1);
    assert.equal(noFrom.stderr, 'listflow: --all needs --from <pattern>: an address, or ^regex for many senders\n');

    const summaryBefore = JSON.parse((await cli('held', '--summary', '--json')).stdout) as { total: number; lists: { list: string; held: number }[] };
    assert.deepEqual(summaryBefore.lists.filter((l) => l.list === a.list || l.list === b.list), [{ list: a.list, held: 22 }, { list: b.list, held: 10 }]);

    const cleared = await cli('discard', '--all', '--from', pattern, '--ban', '--reason', 'pill spam');
    assert.equal(cleared.code, 0, cleared.stderr);
    assert.deepEqual(cleared.stdout.trimEnd().split('\n'), [
      `discarded 30 held posts from ${pattern} (0 already decided)`,
      ...[a.list, b.list].sort().map((l) => `banned ${pattern} on ${l}`),
    ]);

    for (const id of flood) {
      const s = await query(id);
      assert.equal(s.state, 'discarded', id);
      assert.equal(s.decision.moderation?.reason, 'pill spam');
    }
    for (const id of legit) assert.equal((await query(id)).state, 'held', id);

    // The bans are on both lists and match the spammers, not the lookalike.
    for (const l of [a.list, b.list]) {
      const listId = (await getList(env.stack.db, l))?.id as number;
      const bans = await listBans(env.stack.db, listId);
      assert.deepEqual(bans.map((x) => [x.pattern, x.reason]), [[pattern, 'pill spam']]);
      assert.match(bans[0]?.createdBy ?? '', /^cli:\S+$/);
      const { list: patterns } = await bansFor(env.stack.db, listId);
      assert.ok(spammers.every((s) => patterns.some((p) => p.test(s))));
      assert.ok(!patterns.some((p) => p.test(`bot1@${spamDomain}.org`) || p.test(`newcomer-${tag}@outside.example`)));
    }

    const { response: next } = await post(env.stack.smtpPort, { from: spammers[1] as string, to: b.list, subject: 'more pills' });
    const nextId = queuedId(next);
    started.push(nextId);
    const { status: afterBan } = await watchPost(env.stack.client, nextId, inState('held', 'discarded', 'accepted', 'delivering', 'delivered', 'rejected'), 'classified');
    // The ban is in force: the chain's banned-address rule discards the next post without a moderator.
    assert.equal(afterBan.state, 'discarded');
    assert.equal(afterBan.decision.hits.at(-1)?.rule, 'banned-address');

    // Visibility catches up: the summary shows the two legitimate posts on A and nothing on B.
    const deadline = Date.now() + 30_000;
    let summary = await cli('held', '--summary', a.list);
    while (!summary.stdout.includes(`${a.list}  2`) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 300));
      summary = await cli('held', '--summary', a.list);
    }
    assert.equal(summary.code, 0, summary.stderr);
    assert.deepEqual(summary.stdout.trimEnd().split('\n').map((l) => l.split(/\s{2,}/)), [['LIST', 'HELD'], [a.list, '2'], ['total', '2']]);
    await untilVisibleHeld(heldQuery(b.list), 0);
    assert.equal((await cli('held', '--summary', b.list, '--json')).stdout, `${JSON.stringify({ total: 0, lists: [] }, null, 2)}\n`);

    // Run again: nothing left to discard, and the bans exist already.
    const again = await cli('discard', '--all', '--from', pattern, '--list', a.list, '--ban', '--json');
    assert.equal(again.code, 0, again.stderr);
    const result = JSON.parse(again.stdout) as { matched: number; discarded: string[]; bans: { list: string; added: boolean }[] };
    assert.deepEqual([result.matched, result.discarded, result.bans], [0, [], [{ list: a.list, added: false }]]);
  });

  it('discard --all counts posts decided between the listing and the update as already decided', async () => {
    // Two held posts from one sender; one is approved by signal just before discard --all runs.
    const { list } = await newList();
    const sender = `flooder-${uniqueName('r')}@outside.example`;
    const one = await heldPost(list, sender, 'first');
    const two = await heldPost(list, sender, 'second');
    await untilVisibleHeld(heldQuery(list), 2);
    await env.stack.client.workflow.getHandle(one.id).signal('approve', { by: 'another moderator' });
    await watchPost(env.stack.client, one.id, inState('accepted', 'delivering', 'delivered'), 'approved');
    // Visibility may still list it as held: that is exactly the race this guards.
    const r = await cli('discard', '--all', '--from', sender, '--list', list);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^discarded 1 held post from ${sender.replace(/[.]/g, '\\.')} on ${list.replace(/[.]/g, '\\.')} \\(\\d already decided\\)\\n$`));
    assert.equal((await query(two.id)).state, 'discarded');
    assert.notEqual((await query(one.id)).state, 'discarded');
  });
});
