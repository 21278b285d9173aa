// Held posts and what moderators do with them: approve, reject, discard by signal or by the moderate update.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { deleteList, getList } from '../../store/lists.js';
import { setModeration } from '../../store/members.js';
import { approveSignal, discardSignal, moderateUpdate, rejectSignal, type ModerationDecision, type PostStatus } from '../../workflows/messages.js';
import { addresses, inState, waitUntilListed, watchPost } from '../helpers/post-status.js';
import { mailFor } from '../helpers/read-mail.js';
import { createList, post, queuedId, subscribe, useStack } from '../helpers/stack.js';
import { uniqueName } from '../helpers/temporal.js';

describe('moderation of held posts', () => {
  const env = useStack();

  interface Scene {
    list: string;
    tag: string;
    members: string[];
    owner: string;
    outsider: string;
  }

  /** A list with an owner (who hears about held posts) and three members; settings as the CLI takes them. */
  async function newList(settings: string[] = []): Promise<Scene> {
    const tag = uniqueName('mod');
    const list = await createList(env.stack.db, settings);
    const members = addresses(3, tag);
    const owner = `owner-${tag}@owners.example`;
    await subscribe(env.stack.db, list, members);
    await subscribe(env.stack.db, list, [owner], 'owner');
    return { list, tag, members, owner, outsider: `outsider-${tag}@elsewhere.example` };
  }

  const mailTo = (address: string) => mailFor(env.recorder.received, address);
  /** Copies of list posts each member received (notices to a member who posted do not count). */
  const copies = (members: string[]) => members.map((m) => mailTo(m).filter((r) => r.isListCopy).length);

  function moderate(id: string, decision: ModerationDecision): Promise<PostStatus> {
    const handle = env.stack.client.workflow.getHandle(id);
    // An update waits for a worker; give up rather than hang the test.
    return env.stack.client.connection.withDeadline(Date.now() + 20_000, () => handle.executeUpdate(moderateUpdate, { args: [decision] }));
  }

  it("holds a nonmember's post, lists it as held, and delivers it once approved by signal", async () => {
    const s = await newList();
    const { response } = await post(env.stack.smtpPort, { from: s.outsider, to: s.list, subject: 'may I?' });
    const id = queuedId(response);

    const { status: held } = await watchPost(env.stack.client, id, inState('held'), 'held');
    assert.equal(held.list, s.list);
    assert.equal(held.sender, s.outsider);
    assert.equal(held.subject, 'may I?');
    assert.match(held.messageId, /^<[0-9a-f]+@sender\.example>$/);
    assert.equal(held.decision.action, 'hold');
    assert.deepEqual(
      held.decision.hits.map((h) => h.rule),
      ['nonmember-moderation'],
    );
    assert.match(held.decision.summary, /is not a member of/);
    assert.ok(held.heldUntil && Date.parse(held.heldUntil) > Date.now() + 6 * 86_400_000, 'held for max_hold_days (7)');
    assert.deepEqual(held.delivery, { total: 0, sent: 0, failed: 0, pending: 0 });
    await waitUntilListed(env.stack.client, id, "ListflowState = 'held'");
    await env.recorder.waitFor(() => mailTo(s.owner).length > 0 && mailTo(s.outsider).length > 0);
    const [toModerator] = mailTo(s.owner);
    assert.match(toModerator?.subject ?? '', /awaits approval/);
    assert.ok(toModerator?.text.includes(`listflow approve ${id}`), 'the moderator notice says how to approve');
    const [toPoster] = mailTo(s.outsider);
    assert.match(toPoster?.subject ?? '', /awaits moderator approval/);
    assert.match(toPoster?.text ?? '', /Reason: .* is not a member of/);
    assert.deepEqual(copies(s.members), [0, 0, 0], 'nothing delivered while held');

    await env.stack.client.workflow.getHandle(id).signal(approveSignal, { by: s.owner });
    const { status } = await watchPost(env.stack.client, id, inState('delivered'), 'delivered');
    assert.equal(status.decision.moderation?.action, 'approve');
    assert.equal(status.decision.moderation?.by, s.owner);
    assert.deepEqual(status.delivery, { total: 3, sent: 3, failed: 0, pending: 0 });
    assert.deepEqual(copies(s.members), [1, 1, 1]);
    await waitUntilListed(env.stack.client, id, "ListflowState = 'delivered'");
  });

  it('approves a held post through the moderate update, which answers the new status; a second decision is refused', async () => {
    // A member whose server defers keeps the post open (waiting to retry) after approval.
    const s = await newList(['delivery_retry_wait_seconds=3600']);
    env.recorder.faults = { rcpt: { [s.members[0] as string]: 450 } };
    try {
      const { response } = await post(env.stack.smtpPort, { from: s.outsider, to: s.list, subject: 'by update' });
      const id = queuedId(response);
      await watchPost(env.stack.client, id, inState('held'), 'held');

      const answer = await moderate(id, { action: 'approve', by: s.owner });
      assert.notEqual(answer.state, 'held');
      assert.ok(['accepted', 'delivering'].includes(answer.state), `answered ${answer.state}`);
      assert.equal(answer.decision.moderation?.action, 'approve');
      assert.equal(answer.decision.moderation?.by, s.owner);

      const { status } = await watchPost(env.stack.client, id, (x) => x.state === 'delivering' && x.nextRetryAt !== null, 'waiting to retry');
      assert.deepEqual(status.delivery, { total: 3, sent: 2, failed: 0, pending: 1 });

      await assert.rejects(moderate(id, { action: 'reject', reason: 'changed my mind', by: s.owner }), (err: unknown) => {
        assert.ok(err instanceof WorkflowUpdateFailedError, `a WorkflowUpdateFailedError, not ${String(err)}`);
        assert.match(String((err.cause as Error | undefined)?.message), /not held any more \(it is delivering\)/);
        return true;
      });
      const later = await watchPost(env.stack.client, id, () => true, 'any answer');
      assert.equal(later.status.state, 'delivering', 'the refused decision changed nothing');
      await env.stack.client.workflow.getHandle(id).terminate('test over: the deferred member would be retried for days');
    } finally {
      env.recorder.faults = {};
    }
  });

  it('rejects a held post with a reason, which the poster is told', async () => {
    const s = await newList();
    const { response } = await post(env.stack.smtpPort, { from: s.outsider, to: s.list, subject: 'buy now' });
    const id = queuedId(response);
    await watchPost(env.stack.client, id, inState('held'), 'held');

    const reason = `off-topic advertising ${s.tag}`;
    await env.stack.client.workflow.getHandle(id).signal(rejectSignal, { reason, by: s.owner });
    const { status } = await watchPost(env.stack.client, id, inState('rejected'), 'rejected');
    assert.equal(status.decision.moderation?.action, 'reject');
    assert.equal(status.decision.moderation?.reason, reason);
    await env.stack.client.workflow.getHandle(id).result();

    const notice = mailTo(s.outsider).find((m) => /was rejected/.test(m.subject));
    assert.ok(notice, 'the poster got a rejection notice');
    assert.ok(notice.text.includes(`Reason: ${reason}`), 'the notice gives the reason');
    assert.match(notice.text, /"buy now"/);
    assert.deepEqual(copies(s.members), [0, 0, 0]);
    await waitUntilListed(env.stack.client, id, "ListflowState = 'rejected'");
  });

  it('discards a held post: nothing is delivered and the poster hears nothing more', async () => {
    const s = await newList();
    const { response } = await post(env.stack.smtpPort, { from: s.outsider, to: s.list, subject: 'spam' });
    const id = queuedId(response);
    await watchPost(env.stack.client, id, inState('held'), 'held');
    await env.recorder.waitFor(() => mailTo(s.outsider).length === 1);

    await env.stack.client.workflow.getHandle(id).signal(discardSignal, { by: s.owner });
    const { status } = await watchPost(env.stack.client, id, inState('discarded'), 'discarded');
    assert.equal(status.decision.moderation?.action, 'discard');
    assert.equal((await env.stack.client.workflow.getHandle(id).result()).state, 'discarded');
    assert.deepEqual(copies(s.members), [0, 0, 0]);
    assert.equal(mailTo(s.outsider).length, 1, 'only the held notice');
    await waitUntilListed(env.stack.client, id, "ListflowState = 'discarded'");
  });

  it("holds a post from a member set to moderation 'hold'", async () => {
    const s = await newList();
    const listRow = await getList(env.stack.db, s.list);
    assert.ok(listRow);
    const moderated = s.members[1] as string;
    assert.equal(await setModeration(env.stack.db, listRow.id, moderated, 'hold'), true);
    const { response } = await post(env.stack.smtpPort, { from: moderated, to: s.list, subject: 'from a moderated member' });
    const id = queuedId(response);

    const { status } = await watchPost(env.stack.client, id, inState('held'), 'held');
    assert.equal(status.sender, moderated);
    assert.deepEqual(
      status.decision.hits.map((h) => [h.rule, h.action]),
      [['member-moderation', 'hold']],
    );
    assert.match(status.decision.summary, /is set to hold/);

    const answer = await moderate(id, { action: 'discard', by: s.owner });
    assert.equal(answer.state, 'discarded');
    assert.deepEqual(copies(s.members), [0, 0, 0]);
  });

  it("discards a post carrying this list's own X-BeenThere as a loop", async () => {
    const s = await newList();
    const { response } = await post(env.stack.smtpPort, {
      from: s.members[0] as string,
      to: s.list,
      subject: 'came back',
      headers: { 'X-BeenThere': s.list },
    });
    const id = queuedId(response);

    const { status } = await watchPost(env.stack.client, id, inState('discarded'), 'discarded');
    assert.equal(status.decision.action, 'discard');
    assert.deepEqual(
      status.decision.hits.map((h) => h.rule),
      ['loop'],
    );
    assert.match(status.decision.summary, /X-BeenThere/);
    assert.equal(status.decision.moderation, undefined, 'never held');
    assert.deepEqual(copies(s.members), [0, 0, 0]);
  });

  it('holds a post over max_message_size_kb with the size as the reason', async () => {
    const s = await newList(['max_message_size_kb=1']);
    const { response } = await post(env.stack.smtpPort, {
      from: s.members[0] as string,
      to: s.list,
      subject: 'a long one',
      text: 'All work and no play makes Jack a dull boy.\n'.repeat(80),
    });
    const id = queuedId(response);

    const { status } = await watchPost(env.stack.client, id, inState('held'), 'held');
    assert.equal(status.decision.action, 'hold');
    assert.deepEqual(
      status.decision.hits.map((h) => h.rule),
      ['max-size'],
    );
    assert.match(status.decision.summary, /over the list's limit of 1 KiB/);
    assert.ok(status.size > 1024);

    const answer = await moderate(id, { action: 'approve', by: s.owner });
    assert.equal(answer.decision.moderation?.action, 'approve');
    const { status: done } = await watchPost(env.stack.client, id, inState('delivered'), 'delivered');
    assert.deepEqual(done.delivery, { total: 3, sent: 3, failed: 0, pending: 0 });
  });

  it('discards a held post whose list was deleted before the moderator approved it', async () => {
    const s = await newList();
    const { response } = await post(env.stack.smtpPort, { from: s.outsider, to: s.list, subject: 'too late' });
    const id = queuedId(response);
    await watchPost(env.stack.client, id, inState('held'), 'held');
    assert.equal(await deleteList(env.stack.db, s.list), true);

    await env.stack.client.workflow.getHandle(id).signal(approveSignal, { by: s.owner });
    const result = await env.stack.client.workflow.getHandle(id).result();
    assert.equal(result.state, 'discarded');
    assert.match(result.decision.summary, /no longer exists/);
    assert.equal(result.decision.moderation?.action, 'approve');
    assert.deepEqual(copies(s.members), [0, 0, 0]);
  });
});
