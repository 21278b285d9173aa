// Moderation tokens: what verifies, and every way a token can be wrong (tampered, expired, other list, case-folded).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listSubAddress, parseListRecipient } from '../../mail/address.js';
import { base32Decode, base32Encode, issueToken, postRef, postWorkflowIdOf, tokenKey, verifyToken, type TokenClaims } from '../../mail/tokens.js';

const SECRET = 'a'.repeat(64);
const LIST = 'dev-1234567890@lists.example';
const POST = `post/${LIST}/0123456789abcdef`;
const NOW = 1_800_000_000;

function claims(over: Partial<TokenClaims> = {}): TokenClaims {
  return { kind: 'moderation', action: 'approve', list: LIST, ref: postRef(POST), expiresAt: NOW + 7 * 86400, ...over };
}

describe('moderation tokens', () => {
  it('verify, and name the post, the action and the expiry they were issued for', () => {
    for (const action of ['approve', 'reject', 'discard'] as const) {
      const token = issueToken(SECRET, claims({ action }));
      const check = verifyToken(SECRET, token, LIST, NOW);
      assert.ok(check.ok, JSON.stringify(check));
      assert.equal(check.claims.action, action);
      assert.equal(check.claims.kind, 'moderation');
      assert.equal(check.claims.expiresAt, NOW + 7 * 86400);
      assert.equal(postWorkflowIdOf(LIST, check.claims.ref), POST);
    }
  });

  it('are lower-case base32, short enough for a local part with a typical list name, and differ per action', () => {
    const tokens = (['approve', 'reject', 'discard'] as const).map((action) => issueToken(SECRET, claims({ action })));
    for (const t of tokens) {
      assert.match(t, /^[a-z2-7]+$/);
      const local = listSubAddress(LIST, 'confirm', t).split('@')[0] as string;
      assert.ok(local.length <= 64, `${local.length} characters: ${local}`);
    }
    assert.equal(new Set(tokens).size, 3);
  });

  it('survive an MTA folding the address to upper case, through the ingress parser', () => {
    const token = issueToken(SECRET, claims());
    const folded = listSubAddress(LIST, 'confirm', token).toUpperCase();
    const r = parseListRecipient(folded, (a) => a === LIST);
    assert.equal(r?.kind, 'confirm');
    assert.ok(verifyToken(SECRET, r?.detail ?? '', LIST, NOW).ok);
    assert.equal(tokenKey(token), tokenKey(token.toUpperCase()), 'a folded token is the same used token');
  });

  it('are refused when any character is changed', () => {
    const token = issueToken(SECRET, claims());
    let refused = 0;
    for (let i = 0; i < token.length; i++) {
      const c = token[i] as string;
      const other = c === 'a' ? 'b' : 'a';
      const tampered = token.slice(0, i) + other + token.slice(i + 1);
      const check = verifyToken(SECRET, tampered, LIST, NOW);
      assert.equal(check.ok, false, `position ${i}`);
      refused += 1;
    }
    assert.equal(refused, token.length);
  });

  it('are refused when the action byte is rewritten to another action, even with a valid encoding', () => {
    const bytes = base32Decode(issueToken(SECRET, claims({ action: 'approve' }))) as Buffer;
    bytes[1] = 1; // reject
    const check = verifyToken(SECRET, base32Encode(bytes), LIST, NOW);
    assert.equal(check.ok, false);
    assert.equal(!check.ok && check.why, 'forged');
  });

  it('are refused when the expiry is extended', () => {
    const bytes = base32Decode(issueToken(SECRET, claims())) as Buffer;
    bytes.writeUInt32BE(NOW + 365 * 86400, 2);
    const check = verifyToken(SECRET, base32Encode(bytes), LIST, NOW);
    assert.equal(!check.ok && check.why, 'forged');
  });

  it('are refused after they expire, and accepted up to the second they do', () => {
    const token = issueToken(SECRET, claims({ expiresAt: NOW + 10 }));
    assert.ok(verifyToken(SECRET, token, LIST, NOW + 10).ok);
    const late = verifyToken(SECRET, token, LIST, NOW + 11);
    assert.equal(!late.ok && late.why, 'expired');
    assert.match(!late.ok ? late.message : '', /expired at/);
  });

  it('are refused at another list, and under another site secret', () => {
    const token = issueToken(SECRET, claims());
    const elsewhere = verifyToken(SECRET, token, 'ops@lists.example', NOW);
    assert.equal(!elsewhere.ok && elsewhere.why, 'forged');
    const otherSite = verifyToken('b'.repeat(64), token, LIST, NOW);
    assert.equal(!otherSite.ok && otherSite.why, 'forged');
  });

  it('are refused as malformed when not base32 or cut short, without throwing', () => {
    const token = issueToken(SECRET, claims());
    for (const bad of ['', 'abc', 'not-a-token!', `${token}a`, token.slice(0, -1), token.slice(0, 10), '0189', 'ä'.repeat(40)]) {
      const check = verifyToken(SECRET, bad, LIST, NOW);
      assert.equal(check.ok, false, bad);
      assert.ok(!check.ok && ['malformed', 'forged'].includes(check.why), `${bad}: ${!check.ok && check.why}`);
    }
  });

  it('base32 round-trips any bytes and decodes either case', () => {
    for (let n = 0; n < 40; n++) {
      const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff));
      const text = base32Encode(bytes);
      assert.deepEqual(base32Decode(text), bytes);
      assert.deepEqual(base32Decode(text.toUpperCase()), bytes);
    }
  });
});
