// Email commands end to end: mail to -request (and -join/-leave) over SMTP through the ingress, each command run,
// and the one reply checked as it reaches the recording SMTP server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { siteSecret } from '../../store/db.js';
import { saveSiteSettings } from '../../store/site-settings.js';
import { listSubAddress } from '../../mail/address.js';
import { MAX_COMMANDS } from '../../mail/commands.js';
import { postRef, issueToken } from '../../mail/tokens.js';
import type { MailStatus } from '../../workflows/messages.js';
import { buildMessage, deliver, waitForMailState } from '../helpers/ingress.js';
import { readMail } from '../helpers/read-mail.js';
import type { Received } from '../helpers/smtp-recorder.js';
import { createList, queuedId, subscribe, useStack } from '../helpers/stack.js';
import { devServerAddress, uniqueName } from '../helpers/temporal.js';
import { runCli } from '../cli/run-cli.js';

function header(raw: Buffer, name: string): string | undefined {
  const head = raw.toString('utf8').split('\r\n\r\n')[0] ?? '';
  return new RegExp(`^${name}: *(.*)$`, 'mi').exec(head)?.[1]?.trim();
}

interface Sent {
  status: MailStatus;
  raw: Buffer;
  /** What the sender got back (null: nothing). */
  reply: Received | null;
  text: string;
}

describe('email commands over SMTP', () => {
  const env = useStack();
  const someone = () => `${uniqueName('person')}@example.net`;

  /** Sends a message to one of the list's command addresses and waits for its workflow to end. */
  async function send(
    list: string,
    o: { from: string; subject?: string; text?: string; to?: 'request' | 'join' | 'leave'; headers?: Record<string, string>; envelopeFrom?: string | false; raw?: Buffer },
  ): Promise<Sent> {
    const to = listSubAddress(list, o.to ?? 'request');
    const raw = o.raw ?? (await buildMessage({ from: o.from, to, subject: o.subject ?? '', text: o.text ?? '', headers: o.headers }));
    const report = await deliver(env.stack.smtpPort, { from: o.envelopeFrom ?? o.from, to: [to], raw });
    // A bare CR in a test body is changed on the wire, so the ID is taken from the reply, not computed.
    const id = queuedId(report.response);
    assert.match(id, /^request\//);
    const status = await waitForMailState(env.stack.client, id, ['answered', 'ignored'], 60_000);
    const messageId = header(raw, 'Message-ID');
    const reply = env.recorder.received.find((r) => header(r.raw, 'In-Reply-To') === messageId) ?? null;
    return { status, raw, reply, text: reply ? readMail(reply).text : '' };
  }

  it('help: one reply to the sender, from -request, with the return path -bounces, Auto-Submitted, In-Reply-To', async () => {
    const list = await createList(env.stack.db);
    const from = someone();
    const r = await send(list, { from, subject: 'help' });
    assert.equal(r.status.state, 'answered');
    assert.equal(r.status.detail, `help done; reply sent to ${from}`);
    assert.deepEqual(r.status.commands?.map((c) => [c.line, c.outcome]), [['help', 'done']]);
    assert.ok(r.reply, 'a reply');
    assert.deepEqual(r.reply.to, [from]);
    assert.equal(r.reply.from, listSubAddress(list, 'bounces'));
    assert.equal(header(r.reply.raw, 'From'), listSubAddress(list, 'request'));
    assert.equal(header(r.reply.raw, 'To'), from);
    assert.equal(header(r.reply.raw, 'Auto-Submitted'), 'auto-replied');
    assert.equal(header(r.reply.raw, 'Subject'), `The results of your email commands to ${list}`);
    assert.match(r.text, /^> help\n {2}Commands for the /m);
    assert.match(r.text, /subscribe \[digest\|nodigest\] \[address\]/);
    assert.equal(env.recorder.received.filter((x) => header(x.raw, 'In-Reply-To') === header(r.raw, 'Message-ID')).length, 1, 'exactly one reply');
  });

  it('info: the description and policies; the member count only with a public roster', async () => {
    const list = await createList(env.stack.db, ['description=Talk about the dev branch', 'subscription_policy=moderate']);
    await subscribe(env.stack.db, list, ['a@example.org', 'b@example.org']);
    const r = await send(list, { from: someone(), text: 'info\n' });
    assert.match(r.text, /> info\n {2}\S+ \(/);
    assert.match(r.text, /Talk about the dev branch/);
    assert.match(r.text, /Joining: +a moderator approves/);
    assert.match(r.text, new RegExp(`Posting address: +${list.replace(/[.]/g, '\\.')}`));
    assert.doesNotMatch(r.text, /Members:/);

    const open = await createList(env.stack.db, ['member_roster_visibility=public']);
    await subscribe(env.stack.db, open, ['a@example.org', 'b@example.org']);
    assert.match((await send(open, { from: someone(), text: 'info\n' })).text, /Members: +2/);
  });

  it('who: refused to nonmembers and members by default; moderators get the addresses', async () => {
    const list = await createList(env.stack.db);
    const member = someone();
    const moderator = someone();
    await subscribe(env.stack.db, list, [member, 'zed@example.org']);
    await subscribe(env.stack.db, list, [moderator], 'moderator');

    const stranger = await send(list, { from: someone(), subject: 'who' });
    assert.equal(stranger.status.commands?.[0]?.outcome, 'refused');
    assert.match(stranger.text, /Refused: the member list of \S+ is shown only to its moderators and owners/);
    assert.doesNotMatch(stranger.text, /zed@example\.org/);
    const asMember = await send(list, { from: member, subject: 'who' });
    assert.doesNotMatch(asMember.text, /zed@example\.org/);

    const asModerator = await send(list, { from: moderator, subject: 'who' });
    assert.equal(asModerator.status.commands?.[0]?.outcome, 'done');
    assert.match(asModerator.text, /2 members of /);
    assert.match(asModerator.text, /zed@example\.org/);
    assert.ok(asModerator.text.includes(member));
  });

  it('who with member_roster_visibility=members: members yes, strangers no; public: anyone', async () => {
    const list = await createList(env.stack.db, ['member_roster_visibility=members']);
    const member = someone();
    await subscribe(env.stack.db, list, [member]);
    assert.match((await send(list, { from: member, subject: 'who' })).text, /1 member of /);
    assert.match((await send(list, { from: someone(), subject: 'who' })).text, /shown only to its members/);

    const open = await createList(env.stack.db, ['member_roster_visibility=public']);
    await subscribe(env.stack.db, open, ['solo@example.org']);
    assert.match((await send(open, { from: someone(), subject: 'who' })).text, /solo@example\.org/);
  });

  it('echo answers the text, cleaned; end stops; the signature is not read', async () => {
    const r = await send(await createList(env.stack.db), { from: someone(), text: 'echo hello \u0007there\necho again\nend\necho never\n-- \nBob\n' });
    assert.deepEqual(r.status.commands?.map((c) => c.line), ['echo hello there', 'echo again', 'end']);
    assert.match(r.text, /> echo hello there\n {2}hello there\n\n> echo again\n {2}again\n\n> end\n {2}End of commands\./);
    assert.match(r.text, /Reading stopped at "end"; 3 more lines were not read\./);
    assert.doesNotMatch(r.text, /never/);
  });

  it('an unknown command: said so, reading stops, and the help follows', async () => {
    const r = await send(await createList(env.stack.db), { from: someone(), subject: 'Hi', text: 'subscirbe please\nhelp\n' });
    assert.equal(r.status.state, 'answered');
    assert.deepEqual(r.status.commands, []);
    assert.match(r.status.detail, /^no command; reply sent to /);
    assert.match(r.text, /No command was found in your message\./);
    assert.match(r.text, /> subscirbe please\n {2}Unknown command: reading stopped here; 1 more line was not read\./);
    assert.match(r.text, /Commands for the /);
  });

  it('confirm with a forged token changes nothing and says so', async () => {
    const list = await createList(env.stack.db);
    const r = await send(list, { from: someone(), subject: `Re: confirm ${'a'.repeat(40)}` });
    assert.equal(r.status.commands?.[0]?.outcome, 'refused');
    assert.match(r.text, new RegExp(`> confirm a{40}\\n {2}Nothing was done: `));
  });

  it("confirm with a genuine moderation token is refused: those act only as a moderator's reply", async () => {
    const list = await createList(env.stack.db);
    const token = issueToken(await siteSecret(env.stack.db), {
      kind: 'moderation',
      action: 'approve',
      list,
      ref: postRef(`post/${list}/0123456789abcdef`),
      expiresAt: Math.floor(Date.now() / 1000) + 3600,
    });
    const r = await send(list, { from: someone(), text: `confirm ${token}\n` });
    assert.equal(r.status.commands?.[0]?.outcome, 'refused');
    assert.match(r.text, /Nothing was done: this token is for moderation, which is not confirmed this way\./);
  });

  for (const [what, o] of [
    ['Auto-Submitted: auto-replied', { headers: { 'Auto-Submitted': 'auto-replied' } }],
    ['Precedence: bulk', { headers: { Precedence: 'bulk' } }],
    ['List-Id (another list)', { headers: { 'List-Id': '<other.lists.example>' } }],
    ['a null envelope sender', { envelopeFrom: false as const }],
  ] as const) {
    it(`no reply and nothing done for automatic mail: ${what}`, async () => {
      const list = await createList(env.stack.db, ['member_roster_visibility=public']);
      const r = await send(list, { from: someone(), subject: 'who', text: 'echo I am a robot\n', ...o });
      assert.equal(r.status.state, 'ignored');
      assert.match(r.status.detail, /^not acted on and not answered: /);
      assert.equal(r.status.commands, undefined, 'no command ran');
      assert.equal(r.reply, null);
    });
  }

  it('at most the daily limit of replies per address; the commands still run', async () => {
    await saveSiteSettings(env.stack.db, { autoreply_daily_limit: 2 });
    try {
      const list = await createList(env.stack.db);
      const from = someone();
      const replies: Sent[] = [];
      for (let i = 0; i < 3; i++) replies.push(await send(list, { from, subject: 'echo ping', text: `echo ${i}\n` }));
      assert.deepEqual(replies.map((r) => r.reply !== null), [true, true, false]);
      assert.match(replies[2]?.status.detail ?? '', /^echo done, echo done; no reply: \S+ already had 2 automatic replies today \(the site's daily limit is 2\)$/);
    } finally {
      await env.stack.db.query(`DELETE FROM site WHERE key = 'autoreply_daily_limit'`);
    }
  });

  it('hostile mail: 10,000 lines are answered quickly, with at most the command limit run', async () => {
    const list = await createList(env.stack.db);
    const text = Array.from({ length: 10_000 }, (_, i) => `echo line ${i}`).join('\n');
    const started = Date.now();
    const r = await send(list, { from: someone(), text });
    assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
    assert.equal(r.status.commands?.length, MAX_COMMANDS);
    assert.match(r.text, new RegExp(`At most ${MAX_COMMANDS} commands are run per message: "echo line ${MAX_COMMANDS}" and what follows were not; \\d+ more lines were not read\\.`));
    assert.ok(r.reply && r.reply.raw.length < 20_000, 'the reply stays small');
  });

  it('hostile mail: header injection in an address is refused, and the reply goes to the sender alone', async () => {
    const list = await createList(env.stack.db);
    const from = someone();
    // Quoted-printable carries a CR inside a line (=0D), which a plain text body could not.
    const raw = Buffer.from(
      [
        `From: ${from}`,
        `To: ${listSubAddress(list, 'request')}`,
        `Subject: =?utf-8?q?x=0D=0ABcc=3A_everyone=40example=2Eorg?=`,
        `Message-ID: <${uniqueName('inject')}@example.net>`,
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        'subscribe victim@example.org=0DBcc: everyone@example.org',
        'subscribe <victim@example.org>',
        'unsubscribe address=3Dvictim@example.org%0d%0aBcc:x@example.org',
        '',
      ].join('\r\n'),
    );
    const r = await send(list, { from, raw });
    assert.deepEqual(r.status.commands?.map((c) => c.outcome), ['refused', 'refused', 'refused']);
    assert.match(r.text, /> subscribe victim@example\.org Bcc: everyone@example\.org\n {2}Refused: "Bcc:" is not understood here/);
    assert.match(r.text, /> subscribe <victim@example\.org>\n {2}Refused: "<victim@example\.org>" is not a plain address/);
    assert.match(r.text, /> unsubscribe address=victim@example\.org%0d%0aBcc:x@example\.org\n {2}Refused: .* is not a plain address/);
    assert.match(r.text, /The subject "x Bcc: everyone@example\.org" is not a command and was ignored\./);
    assert.deepEqual(r.reply?.to, [from]);
    const head = r.reply?.raw.toString('utf8').split('\r\n\r\n')[0] ?? '';
    assert.doesNotMatch(head, /^bcc:/im);
    assert.equal(env.recorder.received.filter((x) => x.to.some((t) => t.includes('victim') || t.includes('everyone'))).length, 0);
  });

  it('no loop: the reply, sent back to -request (a From forged as the -request address), is neither acted on nor answered', async () => {
    const list = await createList(env.stack.db);
    const first = await send(list, { from: listSubAddress(list, 'request'), envelopeFrom: someone(), subject: 'help' });
    assert.ok(first.reply, 'the forged sender is answered once (the reply goes to the From address)');
    assert.deepEqual(first.reply.to, [listSubAddress(list, 'request')]);
    const echoed = await send(list, { from: listSubAddress(list, 'request'), raw: first.reply.raw, envelopeFrom: listSubAddress(list, 'bounces') });
    assert.equal(echoed.status.state, 'ignored');
    assert.equal(echoed.status.detail, 'not acted on and not answered: Auto-Submitted: auto-replied');
    assert.equal(echoed.reply, null);
  });

  it('a From without a usable address: the reply goes to the envelope sender', async () => {
    const list = await createList(env.stack.db);
    const envelope = someone();
    const raw = Buffer.from(
      [`From: Nobody <@@>`, `To: ${listSubAddress(list, 'request')}`, `Subject: echo hi`, `Message-ID: <${uniqueName('nofrom')}@example.net>`, '', ''].join('\r\n'),
    );
    const r = await send(list, { from: envelope, raw });
    assert.equal(r.status.state, 'answered');
    assert.deepEqual(r.reply?.to, [envelope]);
    assert.equal(header(r.reply?.raw ?? Buffer.alloc(0), 'To'), envelope);
  });

  it('the status query shows each command and its result', async () => {
    const list = await createList(env.stack.db);
    const r = await send(list, { from: someone(), subject: 'Re: echo one', text: 'who\nunsubscribe bad@@example.org\n' });
    assert.deepEqual(
      r.status.commands?.map((c) => [c.line, c.outcome]),
      [
        ['echo one', 'done'],
        ['who', 'refused'],
        ['unsubscribe bad@@example.org', 'refused'],
      ],
    );
    assert.equal(r.status.subject, 'Re: echo one');
    assert.equal(r.status.kind, 'request');
    const cli = await runCli({ DATABASE_URL: env.stack.database.url, TEMPORAL_ADDRESS: devServerAddress() }, ['status', r.status.workflowId]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /command +echo one → done: one\n/);
    assert.match(cli.stdout, /command +who → refused: Refused: the member list of /);
    assert.match(cli.stdout, /command +unsubscribe bad@@example\.org → refused: Refused: /);
  });
});
