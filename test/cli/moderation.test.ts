// `listflow held | approve | reject | discard | status` against real held posts on the shared dev server.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { createSmtpTransport, type SmtpTransport } from '../../activities/smtp.js';
import { heldQuery } from '../../cli/held.js';
import { messageKey, workflowIdFor } from '../../mail/ids.js';
import { parseAssignment } from '../../mail/settings.js';
import { createList, updateSettings } from '../../store/lists.js';
import { addMembers } from '../../store/members.js';
import { markStarted, putMessage, recordInbound } from '../../store/messages.js';
import { createCoreWorkers, createDeliveryWorker } from '../../workers/index.js';
import { initialAttributes, statusQuery, type InboundMail, type PostState, type PostStatus } from '../../workflows/messages.js';
import type { postWorkflow } from '../../workflows/post.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startSmtpRecorder, type SmtpRecorder } from '../helpers/smtp-recorder.js';
import { connectDevServer, devServerAddress, uniqueName } from '../helpers/temporal.js';
import { closedPort, runCli, type CliEnv } from './run-cli.js';

describe('listflow held, approve, reject, discard and status', () => {
  let database: TestDatabase;
  let temporal: Awaited<ReturnType<typeof connectDevServer>>;
  let client: Client;
  let recorder: SmtpRecorder;
  let transport: SmtpTransport;
  let workers: Worker[] = [];
  let runs: Promise<void>[] = [];
  let env: CliEnv;
  const taskQueue = uniqueName('cli-core');
  const deliveryTaskQueue = uniqueName('cli-delivery');
  const started: string[] = [];
  const cli = (...args: string[]) => runCli(env, args);

  before(async () => {
    database = await createTestDatabase();
    temporal = await connectDevServer();
    client = temporal.client;
    recorder = await startSmtpRecorder();
    transport = createSmtpTransport(recorder.url, 2, 'listflow.test');
    const deps = { db: database.db, transport, publicUrl: 'http://127.0.0.1:8025', hostname: 'listflow.test' };
    const options = { connection: temporal.native, namespace: 'default', taskQueue, deliveryTaskQueue, deps, smtpConnections: 2, shutdownGraceTime: '1s' };
    workers = [...(await createCoreWorkers(options)), await createDeliveryWorker(options)];
    runs = workers.map((w) => w.run());
    env = { DATABASE_URL: database.url, TEMPORAL_ADDRESS: devServerAddress() };
  });

  after(async () => {
    // Leave nothing running on the shared server: held posts would otherwise wait for days.
    await Promise.allSettled(started.map((id) => client.workflow.getHandle(id).terminate('test finished')));
    for (const w of workers) w.shutdown();
    await Promise.allSettled(runs);
    transport.close();
    await recorder.close();
    await temporal.close();
    await database.drop();
  });

  /** A list with a unique address, members, and settings as `lists set` takes them. */
  async function newList(members: string[] = [], settings: string[] = []): Promise<string> {
    const address = `${uniqueName('dev')}@lists.example`;
    const list = await createList(database.db, address);
    await addMembers(database.db, list.id, members);
    await updateSettings(database.db, address, Object.assign({}, ...settings.map(parseAssignment)));
    return address;
  }

  /** What ingress does for a post: store the bytes, record the inbound mail, start one workflow per list. */
  async function post(lists: string[], from: string, subject: string): Promise<string[]> {
    const raw = Buffer.from(
      [`From: ${from}`, `To: ${lists.join(', ')}`, `Subject: ${subject}`, `Message-ID: <${randomBytes(8).toString('hex')}@sender.example>`, `Date: ${new Date().toUTCString()}`, '', 'Hello list.', ''].join('\r\n'),
    );
    const sha256 = await putMessage(database.db, raw);
    const ids = lists.map((list) => workflowIdFor('post', list, sha256));
    await recordInbound(database.db, lists.map((list, i) => ({ workflowId: ids[i] as string, listAddress: list, kind: 'post', sha256, envelopeFrom: from, rcptTo: list })));
    for (const [i, list] of lists.entries()) {
      const mail: InboundMail = { list, sha256, envelopeFrom: from, rcptTo: list, receivedAt: new Date().toISOString() };
      await client.workflow.start<typeof postWorkflow>('postWorkflow', {
        workflowId: ids[i] as string,
        taskQueue,
        args: [mail, { deliveryTaskQueue, parallelBatches: 2 }],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: initialAttributes(list, 'post', from),
      });
      started.push(ids[i] as string);
    }
    await markStarted(database.db, ids);
    return ids;
  }

  async function waitForState(id: string, states: PostState[]): Promise<PostStatus> {
    const deadline = Date.now() + 30_000;
    let last: PostStatus | undefined;
    for (;;) {
      try {
        last = await client.workflow.getHandle(id).query(statusQuery);
        if (states.includes(last.state)) return last;
      } catch {
        // not picked up by the worker yet
      }
      if (Date.now() > deadline) throw new Error(`${id} did not reach ${states.join('/')} (last: ${last?.state ?? 'unknown'})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Holds a post and waits until visibility lists it as held (visibility is eventually consistent). */
  async function heldPost(list: string, from = 'stranger@outside.example', subject = 'may I post?'): Promise<string> {
    const [id] = await post([list], from, subject);
    assert.ok(id);
    await waitForState(id, ['held']);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const seen: string[] = [];
      for await (const wf of client.workflow.list({ query: `${heldQuery(list)} AND WorkflowId='${id}'` })) seen.push(wf.workflowId);
      if (seen.includes(id)) return id;
      if (Date.now() > deadline) throw new Error(`${id} never showed as held in visibility`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it('held lists the held posts from visibility: ID, sender, subject, received; by list; as JSON', async () => {
    const listA = await newList();
    const listB = await newList();
    const idA = await heldPost(listA, 'stranger@outside.example', 'Held on A');
    const idB = await heldPost(listB, 'other@outside.example', 'Held on B');

    const onA = await cli('held', listA);
    assert.equal(onA.code, 0, onA.stderr);
    const [header, ...rows] = onA.stdout.trimEnd().split('\n');
    assert.match(header ?? '', /^ID\s+SENDER\s+SUBJECT\s+RECEIVED$/);
    assert.equal(rows.length, 1);
    assert.match(rows[0] ?? '', new RegExp(`^${idA}\\s+stranger@outside\\.example\\s+Held on A\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$`));

    const everywhere = await cli('held');
    assert.equal(everywhere.code, 0, everywhere.stderr);
    assert.ok(everywhere.stdout.includes(idA) && everywhere.stdout.includes(idB), everywhere.stdout);

    const json = await cli('held', listB.toUpperCase(), '--json');
    assert.equal(json.code, 0, json.stderr);
    const heldOnB = JSON.parse(json.stdout) as { workflowId: string; sender: string; subject: string; receivedAt: string; heldUntil: string }[];
    assert.deepEqual(heldOnB.map((p) => [p.workflowId, p.sender, p.subject]), [[idB, 'other@outside.example', 'Held on B']]);
    assert.ok(Date.parse(heldOnB[0]?.heldUntil ?? '') > Date.now(), 'held until a time in the future');

    const none = await cli('held', await newList());
    assert.equal(none.code, 0);
    assert.match(none.stdout, /^no held posts on dev-[0-9a-f]+@lists\.example\n$/);
  });

  it('status tells where a post stands, by workflow ID or short key, readable or as JSON', async () => {
    const list = await newList();
    const id = await heldPost(list, 'stranger@outside.example', 'Status please');
    const readable = await cli('status', id);
    assert.equal(readable.code, 0, readable.stderr);
    assert.match(readable.stdout, new RegExp(`^${id}\\n`));
    assert.match(readable.stdout, /^\s+state\s+held \(until \d{4}-.*Z\)$/m);
    assert.match(readable.stdout, new RegExp(`^\\s+list\\s+${list}$`, 'm'));
    assert.match(readable.stdout, /^\s+sender\s+stranger@outside\.example$/m);
    assert.match(readable.stdout, /^\s+subject\s+Status please$/m);
    assert.match(readable.stdout, /^\s+decision\s+hold: stranger@outside\.example is not a member of dev-.+$/m);

    const key = id.slice(id.lastIndexOf('/') + 1);
    const json = await cli('status', key.toUpperCase(), '--json');
    assert.equal(json.code, 0, json.stderr);
    const status = JSON.parse(json.stdout) as PostStatus;
    assert.equal(status.workflowId, id);
    assert.equal(status.state, 'held');
    assert.equal(status.subject, 'Status please');
    assert.deepEqual(status.delivery, { total: 0, sent: 0, failed: 0, pending: 0 });
  });

  it('approve (by short key) delivers a held post; approving it again says it is not held any more and exits 1', async () => {
    const list = await newList(['member1@example.net', 'member2@example.net']);
    const id = await heldPost(list);
    const approved = await cli('approve', messageKey(id.slice(id.lastIndexOf('/') + 1)));
    assert.equal(approved.code, 0, approved.stderr);
    assert.match(approved.stdout, new RegExp(`^approved ${id} \\(it is (accepted|delivering|delivered) now\\)\\n$`));

    const delivered = await waitForState(id, ['delivered']);
    assert.deepEqual(delivered.delivery, { total: 2, sent: 2, failed: 0, pending: 0 });
    assert.equal(delivered.decision.moderation?.action, 'approve');
    assert.match(delivered.decision.moderation?.by ?? '', /^cli:.+/);
    await recorder.waitFor((r) => r.filter((m) => m.raw.includes(list)).flatMap((m) => m.to).filter((t) => t.startsWith('member')).length === 2);

    const again = await cli('approve', id);
    assert.equal(again.code, 1);
    assert.equal(again.stderr, `listflow: ${id} is not held any more (it is delivered)\n`);
    assert.equal(again.stdout, '');

    const shown = await cli('status', id);
    assert.match(shown.stdout, /^\s+state\s+delivered$/m);
    assert.match(shown.stdout, /^\s+moderation\s+approve by cli:\S+ at .+$/m);
    assert.match(shown.stdout, /^\s+delivery\s+2 recipients: 2 sent, 0 failed, 0 pending$/m);
  });

  it('reject records the reason and tells the sender; discard drops the post quietly', async () => {
    const list = await newList(['member@example.net']);
    const rejectedId = await heldPost(list, 'rejected-poster@outside.example', 'Buy now');
    const rejected = await cli('reject', rejectedId, '--reason', 'off topic here');
    assert.equal(rejected.code, 0, rejected.stderr);
    assert.match(rejected.stdout, new RegExp(`^rejected ${rejectedId} \\(it is rejected now\\)\\n$`));
    const status = await waitForState(rejectedId, ['rejected']);
    assert.deepEqual({ action: status.decision.moderation?.action, reason: status.decision.moderation?.reason }, { action: 'reject', reason: 'off topic here' });
    await recorder.waitFor((r) => r.some((m) => m.to.includes('rejected-poster@outside.example') && m.raw.includes('off topic here')));

    const discardedId = await heldPost(list, 'discarded-poster@outside.example');
    const discarded = await cli('discard', discardedId);
    assert.equal(discarded.code, 0, discarded.stderr);
    assert.match(discarded.stdout, new RegExp(`^discarded ${discardedId} \\(it is discarded now\\)\\n$`));
    await waitForState(discardedId, ['discarded']);
    const json = JSON.parse((await cli('status', discardedId, '--json')).stdout) as PostStatus;
    assert.equal(json.state, 'discarded');
    assert.equal(json.decision.moderation?.action, 'discard');

    const late = await cli('reject', discardedId);
    assert.equal(late.code, 1);
    assert.equal(late.stderr, `listflow: ${discardedId} is not held any more (it is discarded)\n`);
  });

  it("a post still running but past moderation gets the update's 'not held any more' answer", async () => {
    // A member's post whose one recipient keeps answering 450 stays 'delivering', waiting to retry.
    const slow = `${uniqueName('slow')}@example.net`;
    recorder.faults.rcpt = { ...recorder.faults.rcpt, [slow]: 450 };
    const list = await newList(['poster@example.net', slow]);
    const [id] = await post([list], 'poster@example.net', 'from a member');
    assert.ok(id);
    await waitForState(id, ['delivering']);
    const approve = await cli('approve', id);
    assert.equal(approve.code, 1);
    assert.equal(approve.stderr, `listflow: ${id} is not held any more (it is delivering)\n`);
  });

  it('a workflow ID or key that names nothing is a clear message; an ambiguous key lists the candidates', async () => {
    const missing = `post/nobody@lists.example/${randomBytes(8).toString('hex')}`;
    for (const command of ['status', 'approve']) {
      const r = await cli(command, missing);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `listflow: there is no workflow ${missing} (see: listflow held)\n`);
    }
    const unknownKey = randomBytes(8).toString('hex');
    const noKey = await cli('status', unknownKey);
    assert.equal(noKey.code, 1);
    assert.equal(noKey.stderr, `listflow: no message with key ${unknownKey} was received (see: listflow held)\n`);

    const garbage = await cli('discard', 'abc');
    assert.equal(garbage.code, 1);
    assert.equal(garbage.stderr, 'listflow: "abc" is neither a workflow ID (post/<list>/<key>) nor a message key (16 hex digits)\n');

    // One message to two lists: one key, two posts.
    const ids = await post([await newList(), await newList()], 'stranger@outside.example', 'cross-posted');
    const key = (ids[0] as string).slice((ids[0] as string).lastIndexOf('/') + 1);
    const ambiguous = await cli('approve', key);
    assert.equal(ambiguous.code, 1);
    assert.deepEqual(ambiguous.stderr.trimEnd().split('\n'), [
      `listflow: the key ${key} names 2 workflows; give one of them in full:`,
      ...[...ids].sort().map((id) => `listflow:   ${id}`),
    ]);
  });

  it('says in one line when Temporal cannot be reached; with a full ID, status needs no database', async () => {
    const port = await closedPort();
    const external = await runCli({ DATABASE_URL: database.url, TEMPORAL_ADDRESS: `127.0.0.1:${port}` }, ['held']);
    assert.equal(external.code, 1);
    assert.equal(external.stderr, `listflow: cannot reach Temporal at TEMPORAL_ADDRESS=127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port})\n`);

    const embedded = await runCli({ DATABASE_URL: database.url, LISTFLOW_TEMPORAL_DEV_LISTEN: `127.0.0.1:${port}` }, ['status', `post/x@lists.example/${randomBytes(8).toString('hex')}`]);
    assert.equal(embedded.code, 1);
    assert.equal(embedded.stderr, `listflow: cannot reach listflow's Temporal dev server on 127.0.0.1:${port}: start listflow (npm start) or set TEMPORAL_ADDRESS\n`);

    const id = await heldPost(await newList());
    const noDatabase = await runCli({ DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/none`, TEMPORAL_ADDRESS: devServerAddress() }, ['status', id]);
    assert.equal(noDatabase.code, 0, noDatabase.stderr);
    assert.match(noDatabase.stdout, /^\s+state\s+held/m);
  });
});
