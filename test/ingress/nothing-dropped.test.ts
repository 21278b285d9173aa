// Nothing accepted is dropped silently: every message ingress answered 250 for has a started workflow whose status query answers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listSubAddress } from '../../mail/address.js';
import type { IdKind } from '../../mail/ids.js';
import { buildMessage, deliver, expectedWorkflowId } from '../helpers/ingress.js';
import { createList, type Stack, subscribe, useStack } from '../helpers/stack.js';

interface Sent {
  what: string;
  /** The workflows this message must have: one per (kind, list, +detail) it was accepted for. */
  expect: [IdKind, string][];
}

/** Asks a workflow's status query until a worker answers it. */
async function statusOf(stack: Stack, workflowId: string, timeoutMs = 30_000): Promise<{ state: string; list: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await stack.client.workflow.getHandle(workflowId).query<{ state: string; list: string }>('status');
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${workflowId} did not answer its status query within ${timeoutMs} ms: ${(err as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('ingress accounts for everything it accepts', () => {
  const env = useStack();

  it('has a started workflow that answers its status query for every message it answered 250', async () => {
    const dev = await createList(env.stack.db, [], 'dev');
    const ops = await createList(env.stack.db, [], 'ops');
    await subscribe(env.stack.db, dev, ['alice@example.com', 'bob@example.com']);
    await subscribe(env.stack.db, ops, ['alice@example.com']);
    await subscribe(env.stack.db, dev, ['owner@example.org'], 'owner');
    const sent: Sent[] = [];
    const send = async (what: string, from: string | false, to: string[], expect: [IdKind, string, string?][], headers?: Record<string, string>) => {
      const raw = await buildMessage({ from: from || 'daemon@mx.example.net', to, subject: what, ...(headers ? { headers } : {}) });
      const report = await deliver(env.stack.smtpPort, { from, to, raw });
      assert.match(report.response, /^250 /, what);
      assert.deepEqual(report.rejected, [], what);
      sent.push({ what, expect: expect.map(([kind, list, detail]) => [kind, expectedWorkflowId(kind, list, raw, detail)]) });
    };

    await send('a member post', 'alice@example.com', [dev], [['post', dev]]);
    await send('a nonmember post', 'stranger@example.net', [dev], [['post', dev]]);
    await send('a looped post', 'alice@example.com', [dev], [['post', dev]], { 'X-BeenThere': dev });
    await send('a cross-post', 'alice@example.com', [dev, ops], [['post', dev], ['post', ops]]);
    await send('a post with a copy to -request', 'bob@example.com', [dev, listSubAddress(dev, 'request')], [['post', dev], ['request', dev]]);
    await send('help please', 'carol@example.net', [listSubAddress(dev, 'request')], [['request', dev]]);
    await send('join', 'carol@example.net', [listSubAddress(dev, 'join')], [['request', dev]]);
    await send('leave', 'bob@example.com', [listSubAddress(dev, 'leave')], [['request', dev]]);
    await send('confirm', 'carol@example.net', [listSubAddress(dev, 'confirm', 'abc123')], [['confirm', dev, 'abc123']]);
    // One reply to two confirm addresses (two decisions): a workflow for each token, none lost to the other.
    await send('confirm two', 'carol@example.net', [listSubAddress(dev, 'confirm', 'TOKENA'), listSubAddress(dev, 'confirm', 'tokenb')], [['confirm', dev, 'tokena'], ['confirm', dev, 'tokenb']]);
    await send('for the owner', 'carol@example.net', [listSubAddress(dev, 'owner')], [['owner', dev]]);
    await send('a bounce', false, [listSubAddress(ops, 'bounces', 'ffff0000')], [['bounce', ops, 'ffff0000']]);

    const expected = sent.flatMap((s) => s.expect.map(([, id]) => id)).sort();
    const { rows } = await env.stack.db.query<{ workflow_id: string; list_address: string; started: boolean }>(
      'SELECT workflow_id, list_address, started_at IS NOT NULL AS started FROM inbound ORDER BY workflow_id',
    );
    assert.deepEqual(rows.map((r) => r.workflow_id), expected, 'one inbound record per accepted (kind, list, +detail)');
    for (const row of rows) {
      assert.ok(row.started, `${row.workflow_id} was recorded but never started`);
      const status = await statusOf(env.stack, row.workflow_id);
      assert.equal(status.list, row.list_address, row.workflow_id);
      assert.notEqual(status.state, '', row.workflow_id);
    }
  });
});
