// A subscription request that nobody confirms, or no moderator decides, expires after pending_request_days on
// the time-skipping server, with a clear state, and its token confirms nothing afterwards.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startSubscriptionRequest } from '../../activities/subscriptions.js';
import { applyToken } from '../../activities/token-actions.js';
import { createList as storeCreateList, getList, updateSettings } from '../../store/lists.js';
import { addMembers, findMember } from '../../store/members.js';
import { parseAssignments } from '../../mail/settings.js';
import type { SubscriptionStatus } from '../../workflows/messages.js';
import { mailFor } from '../helpers/read-mail.js';
import { uniqueName } from '../helpers/temporal.js';
import { resultWithin, useTimeSkippingStack } from '../helpers/time-skipping.js';

describe('subscription expiry', () => {
  const ts = useTimeSkippingStack();

  async function newList(settings: string[]): Promise<string> {
    const address = `${uniqueName('exp')}@lists.example`;
    const list = await storeCreateList(ts.database.db, address);
    await updateSettings(ts.database.db, address, parseAssignments(settings).changes);
    await addMembers(ts.database.db, list.id, ['owner@example.org'], 'owner');
    return address;
  }

  const ask = (list: string, address: string) =>
    startSubscriptionRequest(ts.database.db, ts.env.client, { taskQueue: ts.taskQueue, deliveryTaskQueue: ts.deliveryTaskQueue }, {
      list,
      address,
      action: 'subscribe',
      via: 'mail',
      requestedBy: address,
      requestedAt: new Date().toISOString(),
    });

  it('an unconfirmed request expires after pending_request_days; its token is then refused and nobody is subscribed', async () => {
    const list = await newList(['pending_request_days=3']);
    const started = await ask(list, 'olga@example.com');
    assert.equal(started.outcome, 'started', started.detail);
    await ts.recorder.waitFor((r) => mailFor(r, 'olga@example.com').length > 0, 20_000);
    const token = /^\s+confirm ([a-z2-7]+)$/m.exec(mailFor(ts.recorder.received, 'olga@example.com')[0]?.text ?? '')?.[1];
    assert.ok(token);
    const t0 = Date.now();
    const end = await resultWithin<SubscriptionStatus>(ts.env.client.workflow.getHandle(started.workflowId ?? ''), 60_000);
    assert.equal(end.state, 'expired');
    assert.match(end.detail, /not confirmed within 3 day\(s\); nothing changed/);
    assert.ok(Date.now() - t0 < 30_000, 'three days passed in seconds');

    const late = await applyToken({ db: ts.database.db, publicUrl: 'http://127.0.0.1:8025', hostname: 'listflow.test' }, ts.env.client, {
      list,
      token,
      by: 'olga@example.com',
      via: 'command',
      claimedBy: 'test',
    });
    assert.equal(late.state, 'refused');
    assert.match(late.headline, /no longer pending|does not await/);
    const l = await getList(ts.database.db, list);
    assert.deepEqual(await findMember(ts.database.db, l?.id ?? -1, 'olga@example.com'), []);
    // A new request after the expiry is a new one, with a new token.
    assert.equal((await ask(list, 'olga@example.com')).outcome, 'started');
  });

  it('a request no moderator decides expires too, and says so', async () => {
    const list = await newList(['subscription_policy=moderate', 'pending_request_days=2']);
    const started = await ask(list, 'pia@example.com');
    const end = await resultWithin<SubscriptionStatus>(ts.env.client.workflow.getHandle(started.workflowId ?? ''), 60_000);
    assert.equal(end.state, 'expired');
    assert.equal(end.moderation?.action, 'expire');
    assert.match(end.detail, /no moderator acted within 2 day\(s\)/);
    assert.ok(mailFor(ts.recorder.received, 'owner@example.org').some((m) => /pia@example\.com awaits approval/.test(m.subject)));
  });
});
