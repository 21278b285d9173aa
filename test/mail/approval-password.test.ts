// The Approved: password: checked with async scrypt (the thread pool, not the event loop), at most once per
// post, before the pure chain; the approved rule only reads the result.
import assert from 'node:assert/strict';
import { scryptSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { checkModeratorPassword, passwordCandidate } from '../../mail/approval-password.js';
import { runChain } from '../../mail/chain.js';
import { hashPassword, verifyPassword } from '../../mail/password.js';
import { approved, tokenApprover } from '../../mail/rules/approved.js';
import type { RuleInput } from '../../mail/rules/types.js';
import { issueToken, type TokenClaims } from '../../mail/tokens.js';
import { fixture } from '../helpers/fixtures.js';
import { inputFor, LIST, PASSWORD } from '../helpers/rule-input.js';

const HASH = hashPassword(PASSWORD);

function post(headers: string, body = 'Hello.\r\n'): Buffer {
  return Buffer.from(`From: Mo <mo@example.net>\r\nTo: ${LIST}\r\nSubject: news\r\nMessage-ID: <pw@example.net>\r\n${headers}\r\n${body}`);
}

/** What classifyPost does: the password checked once, asynchronously, then the chain over the result. */
async function classify(raw: Buffer, verify = verifyPassword): Promise<RuleInput> {
  const i = inputFor(raw);
  const settings = { ...i.list.settings, moderator_password: HASH };
  const password = await checkModeratorPassword(HASH, i.facts, i.approvers, verify);
  return { ...i, list: { ...i.list, settings }, password };
}

/** Counts the event loop's turns while `work` runs. */
async function turnsDuring(work: () => Promise<unknown>): Promise<number> {
  let turns = 0;
  let running = true;
  const spin = () => {
    if (!running) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  await work();
  running = false;
  return turns;
}

describe('the Approved: password', () => {
  it('accepts a post with the right password (header or first body line) and not one with a wrong one', async () => {
    const header = runChain(await classify(fixture('rules/approved-header.eml')));
    assert.equal(header.action, 'accept');
    assert.deepEqual(header.hits.map((h) => [h.rule, h.reason]), [['approved', "the approved header carries the list's moderator password"]]);
    const body = runChain(await classify(fixture('rules/approved-body.eml')));
    assert.equal(body.action, 'accept');
    assert.equal(body.hits[0]?.reason, "the first line of the body carries the list's moderator password");

    const wrong = await classify(fixture('rules/approved-wrong.eml'));
    assert.deepEqual(wrong.password, { where: 'the first line of the body', ok: false });
    const verdict = runChain(wrong);
    assert.equal(verdict.action, 'hold', 'a nonmember without the password is held as any nonmember');
    assert.equal(verdict.hits.some((h) => h.rule === 'approved'), false);
    assert.ok(verdict.misses.includes('approved'));
    assert.equal(approved.check(wrong).reason, 'the first line of the body does not carry the moderator password or a valid moderator token');
  });

  it('is checked off the event loop: other work keeps running while scrypt does', async () => {
    const turns = await turnsDuring(() => verifyPassword(HASH, PASSWORD));
    assert.ok(turns >= 2, `the event loop turned ${turns} times during the check`);
    // The regression this guards: a synchronous KDF behind an async signature lets nothing run meanwhile.
    const blocking = async (stored: string, password: string) => {
      scryptSync(password, 'salt', 32, { N: 16384, r: 8, p: 1 });
      return stored === password;
    };
    assert.equal(await turnsDuring(() => blocking(HASH, PASSWORD)), 0, 'the measure tells the two apart');
    assert.ok((await turnsDuring(() => checkModeratorPassword(HASH, inputFor(fixture('rules/approved-header.eml')).facts, []))) >= 2);
  });

  it('runs the KDF at most once per post, whatever the post offers', async () => {
    const calls: string[] = [];
    const counting = async (stored: string, password: string) => {
      calls.push(password);
      return verifyPassword(stored, password);
    };
    const many = post('Approved: first-guess\r\nX-Approved: second-guess\r\nApprove: third\r\nApproved: fourth\r\nApproved: fifth\r\n', `Approved: ${PASSWORD}\r\n\r\nHello.\r\n`);
    const checked = await classify(many, counting);
    assert.deepEqual(calls, ['first-guess'], 'only the first secret is tried');
    assert.deepEqual(checked.password, { where: 'the approved header', ok: false });
    assert.equal(runChain(checked).hits.some((h) => h.rule === 'approved'), false);

    calls.length = 0;
    await classify(post(''), counting);
    assert.deepEqual(calls, [], 'no Approved: line, no KDF');
    const none = inputFor(fixture('rules/approved-header.eml'));
    assert.equal(await checkModeratorPassword('', none.facts, [], counting), null);
    assert.deepEqual(calls, [], 'no password set, no KDF');
  });

  it('skips a secret a moderator token already accepts, so a token and the password in one post cost one KDF run', async () => {
    const SECRET = 'site-secret-for-tests';
    const NOW = 1_800_000_000;
    const token = issueToken(SECRET, { kind: 'approval', action: 'approve', list: LIST, ref: Buffer.from('mo@example.net'), expiresAt: NOW + 86_400 } as TokenClaims);
    const raw = post(`Approved: ${token}\r\n`, `Approved: ${PASSWORD}\r\n\r\nHello.\r\n`);
    const tokens = [tokenApprover(SECRET, LIST, NOW)];
    assert.deepEqual(passwordCandidate(inputFor(raw).facts, tokens), { where: 'the first line of the body', secret: PASSWORD });
    const calls: string[] = [];
    const check = await checkModeratorPassword(HASH, inputFor(raw).facts, tokens, async (s, p) => {
      calls.push(p);
      return verifyPassword(s, p);
    });
    assert.deepEqual(calls, [PASSWORD]);
    assert.deepEqual(check, { where: 'the first line of the body', ok: true });
  });

  it('the approved rule only reads the check: it never runs the KDF itself', () => {
    const source = readFileSync(new URL('../../mail/rules/approved.js', import.meta.url), 'utf8');
    assert.doesNotMatch(source, /from '[^']*(password\.js|crypto)'|scrypt\w*\(/);
    // With the right password in the message but no check passed in, the rule does not accept it.
    const unchecked = { ...inputFor(fixture('rules/approved-header.eml')), password: null };
    assert.equal(approved.check(unchecked).hit, false);
  });

  it('keeps verifying stored hashes made with other scrypt costs, and refuses malformed ones', async () => {
    const salt = Buffer.from('0123456789abcdef');
    const older = `scrypt$1024$8$1$${salt.toString('base64')}$${scryptSync(PASSWORD, salt, 32, { N: 1024, r: 8, p: 1 }).toString('base64')}`;
    assert.equal(await verifyPassword(older, PASSWORD), true);
    assert.equal(await verifyPassword(older, `${PASSWORD}x`), false);
    assert.equal(await verifyPassword(PASSWORD, PASSWORD), false, 'a clear-text value is not a hash');
    assert.equal(await verifyPassword(`scrypt$${2 ** 22}$8$1$${salt.toString('base64')}$${'A'.repeat(44)}`, PASSWORD), false, 'absurd costs are refused');
  });
});
