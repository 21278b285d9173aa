// The HTTP API: a post's status, moderation with clear 4xx answers, and health; every /api call needs a bearer
// token, and what a token does is recorded under the token's name.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createApiToken, listApiTokens, revokeApiToken } from '../../store/api-tokens.js';
import { createWebServer } from '../../web/server.js';
import { statusQuery } from '../../workflows/messages.js';
import { startSmtpRecorder, type SmtpRecorder } from '../helpers/smtp-recorder.js';
import { uniqueName } from '../helpers/temporal.js';
import { createList, post, queuedId, startStack, subscribe, waitForState, type Stack } from '../helpers/stack.js';

describe('web API', () => {
  let recorder: SmtpRecorder;
  let stack: Stack;
  let server: http.Server;
  let base: string;
  /** A token for the tests that are not about tokens, and how requests carry it. */
  let auth: { authorization: string };
  let tokenName: string;
  before(async () => {
    recorder = await startSmtpRecorder();
    stack = await startStack({ smarthost: recorder.url });
    server = createWebServer({ db: stack.db, client: stack.client });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    tokenName = uniqueName('tester').toLowerCase();
    auth = { authorization: `Bearer ${await createApiToken(stack.db, tokenName, 'test')}` };
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await stack.stop();
    await recorder.close();
  });

  async function heldPost(subject: string): Promise<{ list: string; id: string; member: string }> {
    const list = await createList(stack.db);
    const member = `${uniqueName('member')}@example.com`;
    await subscribe(stack.db, list, [member]);
    const id = queuedId((await post(stack.smtpPort, { from: 'stranger@example.net', to: list, subject })).response);
    await waitForState(stack.client, id, ['held']);
    return { list, id, member };
  }

  /** A request exactly as written, path bytes and all (fetch would normalise some paths). */
  function rawRequest(method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    const { port } = server.address() as AddressInfo;
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('answers health without a token', async () => {
    const res = await fetch(`${base}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
  });

  it('an anonymous approve (the curl that approved a held post as the owner) is a 401 and the post stays held; with a token it is recorded as token:<name>', async () => {
    const { id } = await heldPost('approve me, says nobody');
    // curl -X POST …/api/posts/<id from the 250 reply>/moderate -d '{"action":"approve","by":"owner@example.org"}'
    const url = `${base}/api/posts/${id}/moderate`;
    const curl = (headers: Record<string, string> = {}) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: '{"action":"approve","by":"owner@example.org"}',
      });

    const anonymous = await curl();
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('www-authenticate'), 'Bearer realm="listflow"');
    assert.match(((await anonymous.json()) as { error: string }).error, /bearer token is needed/);
    // The 401 is answered before any workflow is asked, so the post is held with no decision the moment it arrives.
    const untouched = await stack.client.workflow.getHandle(id).query(statusQuery);
    assert.equal(untouched.state, 'held');
    assert.equal(untouched.decision.moderation, undefined);

    for (const authorization of ['Bearer lf_not-a-token-at-all', `Bearer lf_${'A'.repeat(43)}`]) {
      const refused = await curl({ authorization });
      assert.equal(refused.status, 401, authorization);
      assert.equal(refused.headers.get('www-authenticate'), 'Bearer realm="listflow", error="invalid_token"', authorization);
    }
    for (const authorization of ['Basic b3duZXI6c2VjcmV0', 'Bearer']) {
      const refused = await curl({ authorization });
      assert.equal(refused.status, 401, authorization);
      assert.equal(refused.headers.get('www-authenticate'), 'Bearer realm="listflow"', authorization);
    }
    assert.equal((await stack.client.workflow.getHandle(id).query(statusQuery)).state, 'held');

    const approved = await curl(auth);
    assert.equal(approved.status, 200);
    const done = await waitForState(stack.client, id, ['delivered']);
    assert.equal(done.decision.moderation?.action, 'approve');
    assert.equal(done.decision.moderation?.by, `token:${tokenName}`, "the token's name, never the body's by");
    const shown = await fetch(`${base}/api/posts/${encodeURIComponent(id)}`, { headers: auth });
    assert.equal(((await shown.json()) as typeof done).decision.moderation?.by, `token:${tokenName}`);
  });

  it("shows a held post's status and approves it once", async () => {
    const { id, member } = await heldPost('may I?');
    const url = `${base}/api/posts/${encodeURIComponent(id)}`;

    assert.equal((await fetch(url)).status, 401, 'the status needs a token too');
    const status = await fetch(url, { headers: auth });
    assert.equal(status.status, 200);
    const body = (await status.json()) as { state: string; subject: string; decision: { hits: { rule: string }[] } };
    assert.equal(body.state, 'held');
    assert.equal(body.subject, 'may I?');
    assert.equal(body.decision.hits[0]?.rule, 'nonmember-moderation');

    const bad = await fetch(`${url}/moderate`, { method: 'POST', headers: auth, body: JSON.stringify({ action: 'maybe' }) });
    assert.equal(bad.status, 400);

    const approved = await fetch(`${url}/moderate`, { method: 'POST', headers: auth, body: JSON.stringify({ action: 'approve', by: 'tester' }) });
    assert.equal(approved.status, 200);
    assert.notEqual(((await approved.json()) as { state: string }).state, 'held');

    const again = await fetch(`${url}/moderate`, { method: 'POST', headers: auth, body: JSON.stringify({ action: 'discard' }) });
    assert.equal(again.status, 409);
    assert.match(((await again.json()) as { error: string }).error, /not held any more/);

    // Once the post's workflow has ended, a decision is still a conflict that says what became of it, not a 404.
    await stack.client.workflow.getHandle(id).result();
    const late = await fetch(`${url}/moderate`, { method: 'POST', headers: auth, body: JSON.stringify({ action: 'discard' }) });
    assert.equal(late.status, 409);
    assert.match(((await late.json()) as { error: string }).error, /not held any more \(it is delivered\)/);

    const done = await waitForState(stack.client, id, ['delivered']);
    assert.equal(done.decision.moderation?.by, `token:${tokenName}`);
    assert.deepEqual(recorder.deliveredTo().filter((a) => a === member.toLowerCase()), [member.toLowerCase()]);
  });

  it('says 404 for a post that does not exist', async () => {
    const res = await fetch(`${base}/api/posts/${encodeURIComponent('post/none@lists.example/0123456789abcdef')}`, { headers: auth });
    assert.equal(res.status, 404);
  });

  it('a malformed percent-encoding in an /api path is a 400, not a 500 (and a 401 without a token)', async () => {
    const path = '/api/posts/%E0%A4%A/moderate';
    const withToken = await rawRequest('POST', path, auth);
    assert.equal(withToken.status, 400);
    assert.match(withToken.body, /malformed percent-encoding/);
    assert.equal((await rawRequest('POST', path)).status, 401);
    assert.equal((await rawRequest('GET', '/api/posts/%')).status, 401);
    assert.equal((await rawRequest('GET', '/api/posts/%', auth)).status, 400);
    assert.equal((await rawRequest('GET', '//', auth)).status, 400, 'a target that is no URL path');
  });

  it('a revoked token is refused at once; use is recorded at most once a minute', async () => {
    const name = uniqueName('revoke').toLowerCase();
    const headers = { authorization: `Bearer ${await createApiToken(stack.db, name, 'test')}` };
    const lastUsed = async () => (await listApiTokens(stack.db)).find((t) => t.name === name)?.lastUsedAt;
    assert.equal(await lastUsed(), null);

    const lists = await fetch(`${base}/api/lists`, { headers });
    assert.equal(lists.status, 200);
    assert.ok(Array.isArray(await lists.json()));
    const first = await lastUsed();
    assert.ok(first, 'last_used_at is set by a use');
    assert.equal((await fetch(`${base}/api/lists`, { headers })).status, 200);
    assert.equal(await lastUsed(), first, 'a second use within the minute writes nothing');

    assert.equal(await revokeApiToken(stack.db, name), true);
    const refused = await fetch(`${base}/api/lists`, { headers });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('www-authenticate'), 'Bearer realm="listflow", error="invalid_token"');
    assert.equal((await listApiTokens(stack.db, true)).find((t) => t.name === name)?.revokedAt !== null, true);
  });

  it('the one-click and confirmation link pages need no token', async () => {
    const list = await createList(stack.db);
    for (const path of [`/u/${encodeURIComponent(list)}/not-a-token`, `/c/${encodeURIComponent(list)}/not-a-token`]) {
      const res = await fetch(`${base}${path}`);
      assert.notEqual(res.status, 401, path);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/, path);
      assert.equal(res.headers.get('www-authenticate'), null, path);
    }
  });
});
