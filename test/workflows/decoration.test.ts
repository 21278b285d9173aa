// Decoration end to end over SMTP: what each member's copy looks like when the smarthost receives it, and
// content filtering holding or rejecting a post before anyone gets it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { simpleParser } from 'mailparser';
import { leafParts } from '../../mail/mime.js';
import { splitHeaderBlock } from '../../mail/message.js';
import { verifyToken } from '../../mail/tokens.js';
import { siteSecret } from '../../store/db.js';
import { getList } from '../../store/lists.js';
import type { AddressInfo } from 'node:net';
import { findMember, listMembers } from '../../store/members.js';
import { createWebServer } from '../../web/server.js';
import { fixture } from '../helpers/fixtures.js';
import { addresses } from '../helpers/post-status.js';
import { createList, queuedId, sendRaw, subscribe, useStack, waitForState } from '../helpers/stack.js';
import { uniqueName } from '../helpers/temporal.js';

/** The attachments fixture, from `from` to `list`, with a Message-ID of its own so each test posts new bytes. */
function attachmentsPost(from: string, list: string): Buffer {
  return Buffer.from(
    fixture('decoration/attachments.eml')
      .toString('latin1')
      .replace(/^From: .*$/m, `From: ${from}`)
      .replace(/^To: .*$/m, `To: ${list}`)
      .replace(/^Message-ID: .*$/m, `Message-ID: <${uniqueName('att')}@example.com>`),
    'latin1',
  );
}

const bodies = (raw: Buffer) => leafParts(raw).map((l) => raw.subarray(l.bodyStart, l.bodyEnd));

describe('decorated delivery', () => {
  const env = useStack();

  it('gives each member a copy with their own To, one-click List-Unsubscribe and footer, attachments untouched', async () => {
    const list = await createList(env.stack.db, [
      'delivery_mode=per-recipient',
      'msg_footer=You get this as {member}.\\nLeave with one click: {unsubscribe_url}',
      'reply_goes_to_list=list',
    ]);
    const members = addresses(3, uniqueName('deco'));
    await subscribe(env.stack.db, list, members);
    const raw = attachmentsPost(members[0] as string, list);
    const id = queuedId(await sendRaw(env.stack.smtpPort, members[0] as string, [list], raw));
    const status = await waitForState(env.stack.client, id, ['delivered'], 60_000);
    assert.deepEqual(status.delivery, { total: 3, sent: 3, failed: 0, pending: 0 });

    const listRow = await getList(env.stack.db, list);
    assert.ok(listRow);
    const tokens = new Map((await listMembers(env.stack.db, listRow.id, 'member')).map((m) => [m.address.toLowerCase(), m.verpToken]));
    const secret = await siteSecret(env.stack.db);
    const copies = env.recorder.received.filter((r) => r.to.some((t) => members.includes(t.toLowerCase())));
    assert.equal(copies.length, 3);
    const urls = new Set<string>();
    for (const copy of copies) {
      const member = (copy.to[0] as string).toLowerCase();
      const parsed = await simpleParser(copy.raw);
      assert.equal(parsed.subject, `[${listRow.displayName}] attachments`);
      assert.deepEqual(!Array.isArray(parsed.to) ? parsed.to?.value.map((a) => a.address?.toLowerCase()) : [], [member]);
      assert.deepEqual(parsed.replyTo?.value.map((a) => a.address), [list]);
      // mailparser folds List-* into one structure: read the header lines as they came.
      const head = splitHeaderBlock(copy.raw).header.toString('latin1').replace(/\r?\n[ \t]+/g, ' ');
      const header = /^List-Unsubscribe: (.*)$/im.exec(head)?.[1] ?? '';
      const url = /<(http[^>]+)>/.exec(header)?.[1] ?? '';
      assert.match(header, new RegExp(`<mailto:${list.replace('@', '-leave@')}\\?subject=unsubscribe>`));
      assert.match(head, /^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/m);
      // The link names this member: its token is signed for the list and carries the member's VERP token.
      const token = url.split('/').at(-1) ?? '';
      const check = verifyToken(secret, token, list, Math.floor(Date.now() / 1000));
      assert.ok(check.ok, `a valid token in ${url}`);
      assert.equal(check.ok && check.claims.ref.toString('utf8'), tokens.get(member));
      urls.add(url);
      assert.ok((parsed.text ?? '').includes(`You get this as ${member}.\nLeave with one click: ${url}`), `footer for ${member}`);
      // The poster's parts arrive byte for byte; the footer is one part more.
      const sent = bodies(raw);
      const got = bodies(copy.raw);
      assert.equal(got.length, sent.length + 1);
      sent.forEach((b, i) => assert.ok(got[i]?.equals(b), `part ${i} for ${member}`));
      assert.deepEqual(parsed.attachments.map((a) => a.filename), ['photo.png', 'report.pdf', 'setup.exe']);
    }
    assert.equal(urls.size, 3, 'one link per member');
  });

  for (const action of ['hold', 'reject'] as const) {
    it(`content filtering with filter_action=${action} stops the post before delivery and says why`, async () => {
      const list = await createList(env.stack.db, ['filter_content=true', 'filter_extensions+=exe', `filter_action=${action}`]);
      const members = addresses(2, uniqueName('filter'));
      await subscribe(env.stack.db, list, members);
      const id = queuedId(await sendRaw(env.stack.smtpPort, members[0] as string, [list], attachmentsPost(members[0] as string, list)));
      const status = await waitForState(env.stack.client, id, [action === 'hold' ? 'held' : 'rejected'], 60_000);
      assert.equal(status.decision.action, action);
      assert.match(status.decision.summary, /content filtering would remove application\/octet-stream setup\.exe/);
      // The poster may get a notice; the other member gets nothing.
      assert.equal(env.recorder.received.filter((r) => r.to.some((t) => t.toLowerCase() === members[1])).length, 0);
    });
  }

  it('with filter_action=discard the filtered part is taken out and the rest delivered', async () => {
    const list = await createList(env.stack.db, ['filter_content=true', 'filter_extensions+=exe', 'subject_prefix=']);
    const members = addresses(2, uniqueName('strip'));
    await subscribe(env.stack.db, list, members);
    const raw = attachmentsPost(members[0] as string, list);
    const id = queuedId(await sendRaw(env.stack.smtpPort, members[0] as string, [list], raw));
    await waitForState(env.stack.client, id, ['delivered'], 60_000);
    const copies = env.recorder.received.filter((r) => r.to.some((t) => members.includes(t.toLowerCase())));
    assert.equal(copies.length, 1, 'one bulk transaction');
    const parsed = await simpleParser((copies[0] as { raw: Buffer }).raw);
    assert.equal(parsed.subject, 'attachments');
    assert.deepEqual(parsed.attachments.map((a) => a.filename), ['photo.png', 'report.pdf']);
  });
});

describe('one click from a delivered copy', () => {
  const env = useStack();

  it("unsubscribes the member whose copy's List-Unsubscribe link is POSTed, and the next post no longer reaches them", async () => {
    const list = await createList(env.stack.db, ['delivery_mode=per-recipient']);
    const members = addresses(2, uniqueName('click'));
    await subscribe(env.stack.db, list, members);
    const [leaver, stayer] = members as [string, string];
    const first = queuedId(await sendRaw(env.stack.smtpPort, stayer, [list], attachmentsPost(stayer, list)));
    await waitForState(env.stack.client, first, ['delivered'], 60_000);

    const copy = env.recorder.received.find((r) => r.to.map((t) => t.toLowerCase()).includes(leaver));
    assert.ok(copy, 'the leaver got the first post');
    const head = splitHeaderBlock(copy.raw).header.toString('latin1').replace(/\r?\n[ \t]+/g, ' ');
    const link = new URL(/<(http[^>]+)>/.exec(/^List-Unsubscribe: (.*)$/im.exec(head)?.[1] ?? '')?.[1] ?? 'http://invalid/');
    assert.match(link.pathname, /^\/u\//);

    // The link points at LISTFLOW_PUBLIC_URL; here the web role listens on a port of its own.
    const web = createWebServer({ db: env.stack.db, client: env.stack.client });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', () => resolve()));
    try {
      const base = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
      const scanned = await fetch(`${base}${link.pathname}`);
      assert.equal(scanned.status, 200, 'GET shows the confirmation page');
      assert.equal((await findMember(env.stack.db, (await getList(env.stack.db, list))?.id ?? -1, leaver)).length, 1, 'a GET unsubscribes nobody');
      const clicked = await fetch(`${base}${link.pathname}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
      assert.equal(clicked.status, 200);
    } finally {
      await new Promise<void>((resolve) => web.close(() => resolve()));
    }

    const second = queuedId(await sendRaw(env.stack.smtpPort, stayer, [list], attachmentsPost(stayer, list)));
    const status = await waitForState(env.stack.client, second, ['delivered'], 60_000);
    assert.deepEqual(status.delivery, { total: 1, sent: 1, failed: 0, pending: 0 }, 'only the member who stayed');
  });
});
