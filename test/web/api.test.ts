// The HTTP API: a post's status, moderation with clear 4xx answers, and health.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createWebServer } from '../../web/server.js';
import { startSmtpRecorder, type SmtpRecorder } from '../helpers/smtp-recorder.js';
import { createList, post, queuedId, startStack, subscribe, waitForState, type Stack } from '../helpers/stack.js';

describe('web API', () => {
  let recorder: SmtpRecorder;
  let stack: Stack;
  let server: http.Server;
  let base: string;
  before(async () => {
    recorder = await startSmtpRecorder();
    stack = await startStack({ smarthost: recorder.url });
    server = createWebServer({ db: stack.db, client: stack.client });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await stack.stop();
    await recorder.close();
  });

  it('answers health', async () => {
    const res = await fetch(`${base}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
  });

  it("shows a held post's status and approves it once", async () => {
    const list = await createList(stack.db);
    await subscribe(stack.db, list, ['member@example.com']);
    const id = queuedId((await post(stack.smtpPort, { from: 'stranger@example.net', to: list, subject: 'may I?' })).response);
    await waitForState(stack.client, id, ['held']);
    const url = `${base}/api/posts/${encodeURIComponent(id)}`;

    const status = await fetch(url);
    assert.equal(status.status, 200);
    const body = (await status.json()) as { state: string; subject: string; decision: { hits: { rule: string }[] } };
    assert.equal(body.state, 'held');
    assert.equal(body.subject, 'may I?');
    assert.equal(body.decision.hits[0]?.rule, 'nonmember-moderation');

    const bad = await fetch(`${url}/moderate`, { method: 'POST', body: JSON.stringify({ action: 'maybe' }) });
    assert.equal(bad.status, 400);

    const approved = await fetch(`${url}/moderate`, { method: 'POST', body: JSON.stringify({ action: 'approve', by: 'tester' }) });
    assert.equal(approved.status, 200);
    assert.notEqual(((await approved.json()) as { state: string }).state, 'held');

    const again = await fetch(`${url}/moderate`, { method: 'POST', body: JSON.stringify({ action: 'discard' }) });
    assert.equal(again.status, 409);
    assert.match(((await again.json()) as { error: string }).error, /not held any more/);

    const done = await waitForState(stack.client, id, ['delivered']);
    assert.equal(done.decision.moderation?.by, 'web:tester');
    assert.deepEqual(recorder.deliveredTo().filter((a) => a === 'member@example.com'), ['member@example.com']);
  });

  it('says 404 for a post that does not exist', async () => {
    const res = await fetch(`${base}/api/posts/${encodeURIComponent('post/none@lists.example/0123456789abcdef')}`);
    assert.equal(res.status, 404);
  });
});
