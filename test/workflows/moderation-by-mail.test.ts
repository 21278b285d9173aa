// Moderation from a mail program, end to end over SMTP: the notice with its -confirm addresses, replies into
// ingress, and every reply that must change nothing (forged, reused, contradicting, not a moderator, automatic).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { simpleParser } from 'mailparser';
import { base32Decode, base32Encode } from '../../mail/tokens.js';
import { mailStatusQuery, remindersWorkflowId, statusQuery, type MailStatus, type PostStatus, type RemindersStatus } from '../../workflows/messages.js';
import { addresses, inState, watchPost } from '../helpers/post-status.js';
import { mailFor } from '../helpers/read-mail.js';
import type { Received } from '../helpers/smtp-recorder.js';
import { createList, post, queuedId, subscribe, useStack } from '../helpers/stack.js';
import { uniqueName } from '../helpers/temporal.js';

interface ModeratorNotice {
  subject: string;
  text: string;
  attached: Buffer | null;
  approve: string;
  reject: string;
  discard: string;
}

/** The message/rfc822 part of a multipart notice, transfer encoding undone (mailparser inlines such parts). */
function attachedMessage(raw: Buffer): Buffer | null {
  const text = raw.toString('latin1');
  const boundary = /boundary="?([^";\r\n]+)"?/i.exec(text)?.[1];
  if (!boundary) return null;
  for (const part of text.split(`--${boundary}`)) {
    const split = part.search(/\r?\n\r?\n/);
    if (split < 0) continue;
    const head = part.slice(0, split);
    if (!/^content-type:\s*message\/rfc822/im.test(head)) continue;
    const body = part.slice(split).replace(/^\r?\n\r?\n/, '').replace(/\r?\n$/, '');
    return /^content-transfer-encoding:\s*base64/im.test(head) ? Buffer.from(body.replace(/\s+/g, ''), 'base64') : Buffer.from(body, 'latin1');
  }
  return null;
}

async function readNotice(r: Received): Promise<ModeratorNotice> {
  const parsed = await simpleParser(r.raw);
  const text = parsed.text ?? '';
  const address = (action: string) => {
    const m = new RegExp(`^\\s*${action}:\\s+(\\S+-confirm\\+\\S+)$`, 'm').exec(text);
    assert.ok(m?.[1], `the notice names a ${action} address:\n${text}`);
    return m[1];
  };
  return {
    subject: parsed.subject ?? '',
    text,
    attached: attachedMessage(r.raw),
    approve: address('approve'),
    reject: address('reject'),
    discard: address('discard'),
  };
}

describe('moderation by mail', () => {
  const env = useStack();

  async function newList(settings: string[] = []) {
    const tag = uniqueName('mm');
    const list = await createList(env.stack.db, settings);
    const members = addresses(2, tag);
    const moderator = `mod-${tag}@owners.example`;
    const owner = `owner-${tag}@owners.example`;
    await subscribe(env.stack.db, list, members);
    await subscribe(env.stack.db, list, [moderator], 'moderator');
    await subscribe(env.stack.db, list, [owner], 'owner');
    return { list, tag, members, moderator, owner, outsider: `outsider-${tag}@elsewhere.example` };
  }

  const mailTo = (address: string) => mailFor(env.recorder.received, address);
  const copies = (members: string[]) => members.map((m) => mailTo(m).filter((r) => r.isListCopy).length);

  /** A held post from the outsider and the moderator notice it caused. */
  async function heldPost(s: Awaited<ReturnType<typeof newList>>, subject: string) {
    const raw = await post(env.stack.smtpPort, { from: s.outsider, to: s.list, subject, text: `Body of ${subject}.\n` });
    const id = queuedId(raw.response);
    await watchPost(env.stack.client, id, inState('held'), 'held');
    let notice: Received | undefined;
    await env.recorder.waitFor((rs) => {
      notice = rs.find((r) => r.to.includes(s.moderator) && r.raw.includes(subject));
      return !!notice;
    });
    return { id, sent: raw.raw, notice: await readNotice(notice as Received) };
  }

  /** A reply from a mail program into ingress; resolves with the confirm workflow's final status. */
  async function reply(from: string, to: string, o: { subject?: string; text?: string; headers?: Record<string, string>; envelopeFrom?: string } = {}) {
    const { response } = await post(env.stack.smtpPort, { from, to, subject: o.subject ?? 'Re: moderation', text: o.text ?? 'ok\n', headers: o.headers, envelopeFrom: o.envelopeFrom });
    const id = queuedId(response);
    assert.match(id, /^confirm\//);
    return env.stack.client.workflow.getHandle(id).result() as Promise<MailStatus>;
  }

  async function stillHeld(id: string): Promise<PostStatus> {
    const status = await env.stack.client.workflow.getHandle(id).query(statusQuery);
    assert.equal(status.state, 'held', 'the post is unchanged');
    return status;
  }

  it('sends one notice with every reason, the post attached and a confirm address per action; "approve" by reply delivers it', async () => {
    const s = await newList(['max_message_size_kb=1']);
    // Two rule hits: a nonmember and too big. The notice must give both, not just the verdict's summary.
    const big = 'x'.repeat(2000);
    const { response, raw } = await post(env.stack.smtpPort, { from: s.outsider, to: s.list, subject: 'big\r\nBcc: victim@example.com', text: `${big}\n` });
    const id = queuedId(response);
    const { status: held } = await watchPost(env.stack.client, id, inState('held'), 'held');
    await env.recorder.waitFor(() => mailTo(s.moderator).length === 1);
    const received = env.recorder.received.filter((r) => r.to.includes(s.moderator));
    assert.equal(received.length, 1, 'one notice per held post');
    assert.deepEqual(mailTo(s.owner), [], 'owners are not told when the list has moderators');
    const notice = await readNotice(received[0] as Received);

    assert.doesNotMatch(notice.subject, /[\r\n]/);
    assert.match(notice.subject, /awaits approval/);
    assert.doesNotMatch((received[0] as Received).raw.toString('latin1'), /^Bcc:/im, 'no header injected through the subject');
    for (const hit of held.decision.hits) assert.ok(notice.text.includes(hit.reason), `the notice gives "${hit.reason}"`);
    assert.ok(held.decision.hits.length >= 1);
    assert.ok(notice.attached, 'the post is attached as message/rfc822');
    const lines = (b: Buffer) => b.toString('latin1').replace(/\r\n/g, '\n').trimEnd();
    assert.equal(lines(notice.attached), lines(raw), 'the attachment is the post as received');
    assert.ok(notice.text.includes(`listflow approve ${id}`), 'the CLI is named too');
    assert.equal(new Set([notice.approve, notice.reject, notice.discard]).size, 3);

    const done = await reply(s.moderator, notice.approve, { subject: 'approve', text: 'approve\n' });
    assert.equal(done.kind, 'confirm');
    assert.equal(done.state, 'applied', done.detail);
    assert.match(done.detail, new RegExp(`approved ${id.replace(/[.+]/g, '\\$&')}`));
    const { status } = await watchPost(env.stack.client, id, inState('delivered'), 'delivered');
    assert.equal(status.decision.moderation?.action, 'approve');
    assert.equal(status.decision.moderation?.by, `${s.moderator} (by mail)`);
    assert.deepEqual(copies(s.members), [1, 1]);
    await env.recorder.waitFor(() => mailTo(s.moderator).some((m) => /Approved/.test(m.subject)));
    const confirmation = mailTo(s.moderator).find((m) => /Approved/.test(m.subject));
    assert.match(confirmation?.text ?? '', new RegExp(`Post: ${id.replace(/[.+]/g, '\\$&')}`));

    // The same address again: used once already.
    const again = await reply(s.moderator, notice.approve, { text: 'approve\n' });
    assert.equal(again.state, 'refused');
    assert.match(again.detail, /already used, by .*mod-/);
    await env.recorder.waitFor(() => mailTo(s.moderator).some((m) => /already used/.test(m.subject)));
    assert.deepEqual(copies(s.members), [1, 1], 'delivered once only');

    // The list's reminder workflow learnt of the hold and of the decision, and ended with nothing waiting.
    const reminders = await env.stack.client.workflow.getHandle(remindersWorkflowId(s.list)).result() as RemindersStatus;
    assert.deepEqual(reminders.waiting, []);
    assert.equal(reminders.remindersSent, 0, 'decided within the day: no reminder');
  });

  it('"reject <reason>" by reply rejects the post and the poster gets that reason', async () => {
    const s = await newList();
    const { id, notice } = await heldPost(s, 'cheap watches');
    const done = await reply(s.moderator, notice.reject, { subject: 'Re: your notice', text: 'reject spam, sorry\n\n> A post to the list is held\n' });
    assert.equal(done.state, 'applied', done.detail);
    const { status } = await watchPost(env.stack.client, id, inState('rejected'), 'rejected');
    assert.equal(status.decision.moderation?.reason, 'spam, sorry');
    await env.recorder.waitFor(() => mailTo(s.outsider).some((m) => /was rejected/.test(m.subject)));
    const rejection = mailTo(s.outsider).find((m) => /was rejected/.test(m.subject));
    assert.match(rejection?.text ?? '', /Reason: spam, sorry/);
    assert.match(rejection?.text ?? '', /is not a member of/, 'and what the rules found');
    await env.recorder.waitFor(() => mailTo(s.moderator).some((m) => /Rejected/.test(m.subject)));
    assert.deepEqual(copies(s.members), [0, 0]);
  });

  it('changes nothing for a forged token, a reply from a non-moderator, a contradicting command or an automatic reply, and says why', async () => {
    const s = await newList();
    const { id, notice } = await heldPost(s, 'please let me in');

    // Forged: the approve token with one signature byte changed.
    const [local, domain] = notice.approve.split('@') as [string, string];
    const token = local.slice(local.indexOf('+') + 1);
    const bytes = base32Decode(token) as Buffer;
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    const forgedAddress = `${local.slice(0, local.indexOf('+') + 1)}${base32Encode(bytes)}@${domain}`;
    const forged = await reply(s.moderator, forgedAddress, { text: 'approve\n' });
    assert.equal(forged.state, 'refused');
    assert.match(forged.detail, /valid signature/);
    await stillHeld(id);
    await env.recorder.waitFor(() => mailTo(s.moderator).some((m) => /Nothing was done: the token does not carry a valid signature/.test(m.subject)));

    // Not a moderator: a member with a genuine discard address.
    const member = s.members[0] as string;
    const stranger = await reply(member, notice.discard, { text: 'discard\n' });
    assert.equal(stranger.state, 'refused');
    assert.match(stranger.detail, /is not a moderator or owner/);
    await stillHeld(id);
    await env.recorder.waitFor(() => mailTo(member).some((m) => /is not a moderator or owner/.test(m.subject)));

    // A command that contradicts the address: refused, and the address is not used up by it.
    const contradiction = await reply(s.moderator, notice.approve, { subject: 'discard', text: 'discard\n' });
    assert.equal(contradiction.state, 'refused');
    assert.match(contradiction.detail, /this address is for "approve", but your message says "discard"/);
    await stillHeld(id);

    // An automatic reply (a vacation message) never acts and is never answered.
    const before = env.recorder.received.length;
    const automatic = await reply(s.moderator, notice.discard, { headers: { 'Auto-Submitted': 'auto-replied' }, text: 'I am away.\n' });
    assert.equal(automatic.state, 'ignored');
    assert.match(automatic.detail, /Auto-Submitted/);
    await stillHeld(id);

    // The owner may act too, and the discard address was not spent by the refusals above.
    const discarded = await reply(s.owner, notice.discard, { text: 'Discard\n' });
    assert.equal(discarded.state, 'applied', discarded.detail);
    const { status } = await watchPost(env.stack.client, id, inState('discarded'), 'discarded');
    assert.equal(status.decision.moderation?.by, `${s.owner} (by mail)`);
    await env.recorder.waitFor(() => mailTo(s.owner).some((m) => /Discarded/.test(m.subject)));
    const toModerator = env.recorder.received.slice(before).filter((r) => r.to.includes(s.moderator));
    assert.deepEqual(toModerator.map((r) => r.raw.toString('latin1').match(/^Subject: .*$/m)?.[0]), [], 'no answer to the automatic reply');

    // Its status query says what happened.
    const q = await env.stack.client.workflow.getHandle(discarded.workflowId).query(mailStatusQuery);
    assert.equal(q.state, 'applied');
    assert.deepEqual(copies(s.members), [0, 0]);
  });

  it('sends no address more than 10 automatic replies a day: the 11th held post from one outsider says why its notice was not sent', async () => {
    const s = await newList();
    const ids: string[] = [];
    for (let i = 1; i <= 11; i++) {
      const { response } = await post(env.stack.smtpPort, { from: s.outsider, to: s.list, subject: `flood ${i}` });
      ids.push(queuedId(response));
      // One at a time, so which post is the 11th is known.
      await watchPost(env.stack.client, ids[i - 1] as string, (st) => st.notices.some((n) => n.startsWith('poster (held)')), 'poster told or not');
    }
    const statuses = await Promise.all(ids.map((id) => env.stack.client.workflow.getHandle(id).query(statusQuery)));
    const posterNotices = statuses.map((st) => st.notices.find((n) => n.startsWith('poster (held)')) ?? '');
    for (const n of posterNotices.slice(0, 10)) assert.match(n, /^poster \(held\): sent to /);
    assert.match(posterNotices[10] ?? '', /^poster \(held\): not sent \(.* already had 10 automatic replies today \(the site's daily limit is 10\)\)$/);
    await env.recorder.waitFor(() => mailTo(s.moderator).length === 11);
    assert.equal(mailTo(s.outsider).length, 10, 'ten held notices reached the outsider');
    assert.equal(mailTo(s.moderator).length, 11, 'moderators hear of every held post: the limit is for automatic replies');

    // The site can set its own limit (another engineer's CLI writes the same key).
    await env.stack.db.query(`INSERT INTO site (key, value) VALUES ('autoreply_daily_limit', '12') ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`);
    try {
      const { response } = await post(env.stack.smtpPort, { from: s.outsider, to: s.list, subject: 'flood 12' });
      const twelfth = queuedId(response);
      ids.push(twelfth);
      const { status } = await watchPost(env.stack.client, twelfth, (st) => st.notices.some((n) => n.startsWith('poster (held)')), 'poster told');
      assert.match(status.notices.find((n) => n.startsWith('poster (held)')) ?? '', /^poster \(held\): sent to /);
    } finally {
      await env.stack.db.query(`DELETE FROM site WHERE key = 'autoreply_daily_limit'`);
    }
    for (const id of ids) await env.stack.client.workflow.getHandle(id).terminate('test over');
    await env.stack.client.workflow.getHandle(remindersWorkflowId(s.list)).terminate('test over');
  });
});
