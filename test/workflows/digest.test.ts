// Digests on the time-skipping server: an issue as soon as the posts pass the size threshold, and one when
// a simulated day ends; MIME (multipart/digest, each post byte for byte) and RFC 1153 plain text; volume and
// issue numbers kept across continue-as-new; the workflow ends once nobody takes digests.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { simpleParser } from 'mailparser';
import { readFacts } from '../../mail/message.js';
import { workflowBundle } from '../../workers/index.js';
import { digestWorkflowId, type DigestStatus } from '../../workflows/messages.js';
import { boundaryOf, chooseDelivery, decoratedPost, digestUntil, headerOf, multipartParts, partBody } from '../helpers/digest.js';
import { inState, watchPost } from '../helpers/post-status.js';
import type { Received } from '../helpers/smtp-recorder.js';
import { createList, subscribe } from '../helpers/stack.js';
import { uniqueName } from '../helpers/temporal.js';
import { resultWithin, useTimeSkippingStack } from '../helpers/time-skipping.js';

const DASH70 = '-'.repeat(70);
const DASH30 = '-'.repeat(30);

describe('digests, on the time-skipping server', () => {
  const stack = useTimeSkippingStack();

  /** A list with a poster (regular), a regular reader, a MIME digest member and a plain digest member. */
  async function digestList(settings: string[]) {
    const tag = uniqueName('dg');
    // No subject prefix: tables of contents are compared with the subjects as posted.
    const list = await createList(stack.database.db, ['subject_prefix=', ...settings]);
    const people = {
      poster: `poster-${tag}@members.example`,
      reader: `reader-${tag}@members.example`,
      mime: `mime-${tag}@members.example`,
      plain: `plain-${tag}@members.example`,
    };
    await subscribe(stack.database.db, list, Object.values(people));
    await chooseDelivery(stack.database.db, list, people.mime, 'mime_digest');
    await chooseDelivery(stack.database.db, list, people.plain, 'plain_digest');
    return { list, ...people };
  }

  const digestsTo = (address: string): Received[] =>
    stack.recorder.received.filter((r) => r.to.includes(address) && headerOf(r.raw, 'X-Listflow-Digest') !== '');
  const postsTo = (address: string): Received[] =>
    stack.recorder.received.filter((r) => r.to.includes(address) && headerOf(r.raw, 'X-Listflow-Seq') !== '');

  /** A member's post, accepted and delivered to the regular members. */
  async function deliveredPost(list: string, from: string, subject: string): Promise<string> {
    const { workflowId } = await stack.startPost(list, from, subject);
    await watchPost(stack.env.client, workflowId, inState('delivered'), 'delivered');
    return workflowId;
  }

  it('sends an issue as soon as the posts pass the size threshold, MIME and RFC 1153, numbered across continue-as-new', async () => {
    // 1 KB: one post (about 700 bytes decorated) stays pending, two pass it.
    const p = await digestList(['digest_size_threshold=1', 'digest_period=weekly', 'digest_volume_frequency=yearly']);
    const first = await deliveredPost(p.list, p.poster, 'first question');
    const waiting = await digestUntil(stack.env.client, p.list, (s) => s.pending.length === 1, 'one post pending');
    assert.ok(waiting.size > 0 && waiting.size < 1024, `one post is below the threshold (${waiting.size} bytes)`);
    assert.equal(waiting.thresholdBytes, 1024);
    assert.equal(waiting.pending[0]?.subject, 'first question');
    assert.equal(waiting.pending[0]?.author, p.poster);
    const firstRun = (await stack.env.client.workflow.getHandle(digestWorkflowId(p.list)).describe()).runId;
    const second = await deliveredPost(p.list, p.poster, 'second question');

    // No time is skipped while the test polls: the issue comes from the size alone, a week before the period ends.
    await stack.recorder.waitFor(() => digestsTo(p.mime).length === 1 && digestsTo(p.plain).length === 1);
    const mime = digestsTo(p.mime)[0]!;
    const plain = digestsTo(p.plain)[0]!;
    assert.deepEqual(mime.to, [p.mime], 'each format goes only to the members who chose it');
    assert.deepEqual(plain.to, [p.plain]);

    // Digest members got no regular copies; the regular members did.
    assert.equal(postsTo(p.mime).length + postsTo(p.plain).length, 0, 'digest members get no regular copies');
    assert.equal(postsTo(p.reader).length, 2);

    // The MIME digest: list headers, a table of contents, then multipart/digest of the posts as members got them.
    const facts = readFacts(mime.raw);
    assert.match(facts.subject, /^dev-[0-9a-f]+ Digest, Vol 1, Issue 1$/);
    assert.equal(facts.from, p.list);
    assert.ok(facts.listId.includes(`<${p.list.replace('@', '.')}>`), `List-Id ${facts.listId}`);
    assert.equal(headerOf(mime.raw, 'Precedence'), 'list');
    assert.match(headerOf(mime.raw, 'Content-Type'), /^multipart\/mixed;/);
    const [front, digestPart, ...rest] = multipartParts(mime.raw);
    assert.equal(rest.length, 0);
    const toc = partBody(front!).toString('utf8');
    assert.match(toc, /Today's Topics \(2 messages\):\r\n\r\n   1\. first question \(poster-[^)]+\)\r\n   2\. second question \(poster-/);
    assert.match(headerOf(digestPart!, 'Content-Type'), /^multipart\/digest;/);
    boundaryOf(digestPart!);
    const posts = multipartParts(digestPart!);
    assert.equal(posts.length, 2);
    for (const [i, id] of [first, second].entries()) {
      assert.equal(headerOf(posts[i]!, 'Content-Type'), 'message/rfc822');
      assert.ok(partBody(posts[i]!).equals(await decoratedPost(stack.database.db, id)), `post ${i + 1} is byte-identical to the decorated post`);
    }
    // An independent parser agrees: two message/rfc822 parts.
    const parsed = await simpleParser(mime.raw);
    assert.deepEqual(parsed.attachments.map((a) => a.contentType), ['message/rfc822', 'message/rfc822']);

    // The plain digest, RFC 1153: preamble with the topics, 70 dashes, messages separated by 30 dashes, the trailer.
    assert.equal(readFacts(plain.raw).subject, facts.subject);
    assert.match(headerOf(plain.raw, 'Content-Type'), /^text\/plain; charset="utf-8"/);
    const text = partBody(plain.raw).toString('utf8');
    const lines = text.split('\r\n');
    const preambleEnd = lines.indexOf(DASH70);
    assert.ok(preambleEnd > 0, 'a line of 70 dashes ends the preamble');
    assert.ok(lines.slice(0, preambleEnd).includes('   1. first question (' + p.poster + ')'));
    assert.ok(lines.slice(0, preambleEnd).includes('   2. second question (' + p.poster + ')'));
    assert.equal(lines.filter((l) => l === DASH30).length, 2, 'one 30-dash separator after each message');
    const messages = lines.slice(preambleEnd + 2).join('\n').split(`\n\n${DASH30}\n\n`);
    assert.equal(messages.length, 3, 'two messages and the trailer');
    for (const [i, m] of messages.slice(0, 2).entries()) {
      assert.match(m, /^Date: .+\nFrom: .+\nTo: .+\nSubject: .+\nMessage-ID: <.+>\n\nA question from outside the list\./);
      assert.match(m, new RegExp(`Subject: ${['first question', 'second question'][i]}\n`));
    }
    assert.equal(messages[2], `End of ${facts.subject}\n${'*'.repeat(`End of ${facts.subject}`.length)}\n`);

    // Continue-as-new after the issue: a new run, nothing pending, the numbering carried.
    const after1 = await digestUntil(stack.env.client, p.list, (s) => s.issuesSent === 1 && s.pending.length === 0, 'issue 1 sent');
    assert.deepEqual({ volume: after1.last?.volume, number: after1.last?.number }, { volume: 1, number: 1 });
    assert.notEqual((await stack.env.client.workflow.getHandle(digestWorkflowId(p.list)).describe()).runId, firstRun, 'a new run after the issue');

    await deliveredPost(p.list, p.poster, 'third');
    await digestUntil(stack.env.client, p.list, (s) => s.pending.length === 1, 'third pending');
    await deliveredPost(p.list, p.poster, 'fourth');
    await stack.recorder.waitFor(() => digestsTo(p.mime).length === 2 && digestsTo(p.plain).length === 2);
    const issue2 = readFacts(digestsTo(p.mime)[1]!.raw).subject;
    assert.match(issue2, /Digest, Vol 1, Issue 2$/);
    assert.match(partBody(multipartParts(digestsTo(p.mime)[1]!.raw)[0]!).toString(), /   1\. third \(.*\r\n   2\. fourth \(/);
    assert.match(readFacts(digestsTo(p.plain)[1]!.raw).subject, /Digest, Vol 1, Issue 2$/);
    // The SMTP server has the copy a moment before the activity records the send: poll the record briefly.
    const sentRows = async () =>
      Number(
        (
          await stack.database.db.query<{ n: string }>(
            `SELECT count(*) AS n FROM digest_sends s JOIN digest_issues i ON i.id = s.issue_id JOIN lists l ON l.id = i.list_id WHERE l.address = $1 AND s.status = 'sent'`,
            [p.list],
          )
        ).rows[0]?.n,
      );
    for (let i = 0; i < 50 && (await sentRows()) < 4; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await sentRows(), 4, 'two issues, two digest members, each send recorded');
  });

  it('sends a daily digest when the day ends, starts a new volume the next day, and ends once nobody takes digests', async () => {
    const p = await digestList(['digest_period=daily', 'digest_volume_frequency=daily']);
    const handle = stack.env.client.workflow.getHandle(digestWorkflowId(p.list));
    const morning = await deliveredPost(p.list, p.poster, 'morning');
    // The post can be signalled before the workflow has read the list's settings: wait for both.
    const pending = await digestUntil(stack.env.client, p.list, (s) => s.pending.length === 1 && s.nextSendAt !== null, 'one pending, period scheduled');
    assert.equal(pending.period, 'daily');
    assert.ok(pending.nextSendAt, 'the end of the period is scheduled');
    // Below the 30 KB default: nothing goes out before the day ends.
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(digestsTo(p.mime).length, 0, 'no issue before the period ends');

    await stack.env.sleep('25 hours');
    await stack.recorder.waitFor(() => digestsTo(p.mime).length === 1 && digestsTo(p.plain).length === 1);
    assert.match(readFacts(digestsTo(p.mime)[0]!.raw).subject, /Digest, Vol 1, Issue 1$/);
    await digestUntil(stack.env.client, p.list, (s) => s.issuesSent === 1, 'issue counted');

    await deliveredPost(p.list, p.poster, 'next day');
    await digestUntil(stack.env.client, p.list, (s) => s.pending.length === 1, 'one pending again');
    await stack.env.sleep('25 hours');
    await stack.recorder.waitFor(() => digestsTo(p.mime).length === 2);
    // A new day, a new volume (digest_volume_frequency=daily): numbering starts again at 1.
    assert.match(readFacts(digestsTo(p.mime)[1]!.raw).subject, /Digest, Vol 2, Issue 1$/);
    assert.match(partBody(multipartParts(digestsTo(p.mime)[1]!.raw)[0]!).toString(), /   1\. next day \(/);

    // Nobody takes digests any more: at the end of the next empty period the workflow ends itself.
    await chooseDelivery(stack.database.db, p.list, p.mime, 'regular');
    await chooseDelivery(stack.database.db, p.list, p.plain, 'regular');
    await digestUntil(stack.env.client, p.list, (s) => s.pending.length === 0 && s.issuesSent === 2 && s.last?.volume === 2, 'after issue 2');
    const ended = await resultWithin<DigestStatus>(handle, 60_000);
    assert.deepEqual(ended.pending, []);
    assert.equal((await handle.describe()).status.name, 'COMPLETED');
    assert.equal(digestsTo(p.mime).length, 2, 'no empty issue was sent');

    // Replay-safe: the last run (timers, activities, the end) and a post that fed the digest replay.
    const bundle = await workflowBundle();
    await Worker.runReplayHistory({ workflowBundle: bundle, replayName: 'digest' }, await handle.fetchHistory());
    await Worker.runReplayHistory({ workflowBundle: bundle, replayName: morning }, await stack.env.client.workflow.getHandle(morning).fetchHistory());
  });
});
