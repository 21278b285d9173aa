// `listflow requests | approve | reject` on subscription requests, `members add` with and without --no-welcome,
// `members remove` with goodbyes, and `subscribe`: the real CLI against a running stack.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSubscriptionRequest } from '../../activities/subscriptions.js';
import { getList } from '../../store/lists.js';
import { findMember } from '../../store/members.js';
import { memberNoticesWorkflowId, subscriptionWorkflowId, type SubscriptionRequest } from '../../workflows/messages.js';
import { mailFor } from '../helpers/read-mail.js';
import { createList, subscribe, useStack } from '../helpers/stack.js';
import { devServerAddress, terminateAll } from '../helpers/temporal.js';
import { runCli, type CliEnv } from './run-cli.js';

describe('listflow requests, approve/reject of requests, members add/remove with welcomes and goodbyes', () => {
  const env = useStack();
  let cliEnv: CliEnv;
  let dir: string;
  const started: string[] = [];
  const cli = (...args: string[]) => runCli(cliEnv, args);

  before(() => {
    cliEnv = {
      DATABASE_URL: env.stack.database.url,
      TEMPORAL_ADDRESS: devServerAddress(),
      LISTFLOW_TASK_QUEUE: env.stack.taskQueue,
      LISTFLOW_DELIVERY_TASK_QUEUE: env.stack.deliveryTaskQueue,
    };
    dir = mkdtempSync(path.join(os.tmpdir(), 'listflow-cli-subs-'));
  });
  after(async () => {
    // Leave nothing waiting on the shared server.
    await terminateAll(started);
    rmSync(dir, { recursive: true, force: true });
  });

  async function ask(list: string, address: string): Promise<void> {
    const request: SubscriptionRequest = { list, address, action: 'subscribe', via: 'mail', requestedBy: address, requestedAt: new Date().toISOString() };
    const r = await startSubscriptionRequest(env.stack.db, env.stack.client, { taskQueue: env.stack.taskQueue, deliveryTaskQueue: env.stack.deliveryTaskQueue }, request);
    assert.equal(r.outcome, 'started', r.detail);
    started.push(r.workflowId ?? '');
  }

  async function until<T>(what: string, f: () => Promise<T | null>, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await f();
      if (v !== null) return v;
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async function isMember(list: string, address: string): Promise<boolean> {
    const l = await getList(env.stack.db, list);
    return (await findMember(env.stack.db, l?.id ?? -1, address)).some((m) => m.role === 'member');
  }

  const welcomes = (address: string) => mailFor(env.recorder.received, address).filter((m) => /^Welcome to/.test(m.subject));
  const goodbyes = (address: string) => mailFor(env.recorder.received, address).filter((m) => /^You have left/.test(m.subject));

  it('requests lists what waits for a moderator; approve and reject act on it through the moderate update', async () => {
    const list = await createList(env.stack.db, ['subscription_policy=moderate']);
    await subscribe(env.stack.db, list, ['owner@example.org'], 'owner');
    await ask(list, 'quinn@example.com');
    await ask(list, 'rosa@example.com');
    const shown = await until('two pending requests', async () => {
      const r = await cli('requests', list);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.split('\n').length === 4 ? r.stdout : null;
    });
    const lines = shown.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^ID\s+ACTION\s+STATE\s+VIA\s+REQUESTED\s+EXPIRES$/);
    assert.match(lines[1] ?? '', new RegExp(`^subscription/${list.replace('.', '\\.')}/quinn@example\\.com\\s+subscribe\\s+awaits approval\\s+mail\\s+\\d{4}-`));
    const asJson = JSON.parse((await cli('requests', list, '--json')).stdout) as { address: string; state: string; workflowId: string }[];
    assert.deepEqual(asJson.map((r) => [r.address, r.state]), [['quinn@example.com', 'awaiting_approval'], ['rosa@example.com', 'awaiting_approval']]);

    const approved = await cli('approve', subscriptionWorkflowId(list, 'quinn@example.com'));
    assert.equal(approved.code, 0, approved.stderr);
    assert.match(approved.stdout, /^approved subscription\/.*quinn@example\.com \(it is completed now: quinn@example\.com subscribed to/);
    assert.equal(await isMember(list, 'quinn@example.com'), true);
    await env.recorder.waitFor(() => welcomes('quinn@example.com').length === 1);
    const status = await until('the welcome in the status', async () => {
      const r = await cli('status', subscriptionWorkflowId(list, 'quinn@example.com'));
      return /welcome: sent to quinn@example\.com/.test(r.stdout) ? r.stdout : null;
    });
    assert.match(status, /^\s+state\s+completed$/m);
    assert.match(status, /^\s+moderation\s+approve by cli:/m);

    const rejected = await cli('reject', subscriptionWorkflowId(list, 'rosa@example.com'), '--reason', 'staff only');
    assert.equal(rejected.code, 0, rejected.stderr);
    assert.match(rejected.stdout, /^rejected .* \(it is rejected now\)/);
    await env.recorder.waitFor(() => mailFor(env.recorder.received, 'rosa@example.com').some((m) => /Reason: staff only/.test(m.text)));

    const late = await cli('approve', subscriptionWorkflowId(list, 'rosa@example.com'));
    assert.equal(late.code, 1);
    assert.match(late.stderr, /is not pending/);
    const deferred = await cli('defer', subscriptionWorkflowId(list, 'rosa@example.com'));
    assert.equal(deferred.code, 1);
    assert.match(deferred.stderr, /defer is for posts/);
    await until('no pending requests', async () => ((await cli('requests', list)).stdout === `no pending requests on ${list}\n` ? true : null));
  });

  it('members add --no-welcome sends nothing; members add welcomes each new member (batches from a file); members remove says goodbye unless --no-goodbye', async () => {
    const list = await createList(env.stack.db);
    const quiet = await cli('members', 'add', list, 'sam@example.com', 'tia@example.com', '--no-welcome');
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stdout, `${list}: 2 added, 0 already there, 0 invalid\n`);

    const file = path.join(dir, 'members.txt');
    const many = Array.from({ length: 450 }, (_, i) => `bulk${i}@example.net`);
    writeFileSync(file, [...many, 'sam@example.com'].join('\n'));
    const loud = await cli('members', 'add', list, 'uma@example.com', '--file', file);
    assert.equal(loud.code, 0, loud.stderr);
    assert.equal(loud.stdout, `${list}: 451 added, 1 already there, 0 invalid\n451 welcome messages to send (${memberNoticesWorkflowId(list)})\n`);
    await env.recorder.waitFor(() => welcomes('bulk449@example.net').length === 1 && welcomes('uma@example.com').length === 1, 60_000);
    const result = (await env.stack.client.workflow.getHandle(memberNoticesWorkflowId(list)).result()) as { sent: number };
    assert.equal(result.sent, 451);
    const welcome = welcomes('uma@example.com')[0];
    assert.match(welcome?.text ?? '', /To leave the list:\n {2}- open http:\/\/127\.0\.0\.1:8025\/u\//);
    assert.equal(welcomes('sam@example.com').length + welcomes('tia@example.com').length, 0, '--no-welcome members got nothing, then or later');
    assert.equal(env.recorder.received.filter((r) => r.to.some((t) => t.startsWith('bulk'))).length, 450, 'one welcome each');

    const bye = await cli('members', 'remove', list, 'uma@example.com', 'sam@example.com');
    assert.equal(bye.code, 0, bye.stderr);
    assert.equal(bye.stdout, `${list}: removed 2 members\n2 goodbye messages to send (${memberNoticesWorkflowId(list)})\n`);
    await env.recorder.waitFor(() => goodbyes('uma@example.com').length === 1 && goodbyes('sam@example.com').length === 1);
    const silent = await cli('members', 'remove', list, 'tia@example.com', '--no-goodbye');
    assert.equal(silent.stdout, `${list}: removed 1 member\n`);
    const audit = await cli('members', 'unsubscribed', list, '--json');
    assert.deepEqual((JSON.parse(audit.stdout) as { address: string; via: string }[]).map((r) => `${r.address} ${r.via}`).sort(), [
      'sam@example.com cli',
      'tia@example.com cli',
      'uma@example.com cli',
    ]);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(goodbyes('tia@example.com').length, 0);
  });

  it('subscribe invites an address (it must confirm); a second one while it waits is "pending"', async () => {
    const list = await createList(env.stack.db, ['subscription_policy=open']);
    const first = await cli('subscribe', list, 'vic@example.com');
    assert.equal(first.code, 0, first.stderr);
    started.push(subscriptionWorkflowId(list, 'vic@example.com'));
    assert.match(first.stdout, /^started: a confirmation request has been sent to vic@example\.com/);
    const second = await cli('subscribe', list, 'vic@example.com');
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /^pending: a request for vic@example\.com is already pending/);
    await env.recorder.waitFor(() => mailFor(env.recorder.received, 'vic@example.com').length === 1);
    assert.match(mailFor(env.recorder.received, 'vic@example.com')[0]?.text ?? '', /request from a list owner \(cli:/);
    const member = await cli('subscribe', list, 'owner-not@example.com');
    assert.equal(member.code, 0);
    started.push(subscriptionWorkflowId(list, 'owner-not@example.com'));
    await subscribe(env.stack.db, list, ['wes@example.com']);
    const already = await cli('subscribe', list, 'wes@example.com');
    assert.equal(already.code, 1);
    assert.equal(already.stderr, `listflow: wes@example.com is already a member of ${list}\n`);
    const bad = await cli('subscribe', list, 'wes@');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /cannot subscribe wes@: "wes@" is not an address/);
  });
});
