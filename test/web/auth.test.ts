// Reading `Authorization: Bearer …` (RFC 6750 §2.1): what counts as a token, before any database is asked.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashApiToken, isApiTokenName, isApiTokenShape } from '../../store/api-tokens.js';
import { bearerChallenge, bearerToken, tokenActor } from '../../web/auth.js';

const TOKEN = `lf_${'Ab9_-'.repeat(8)}Ab9`;

describe('bearer token parsing', () => {
  it('takes the token of a Bearer header (the scheme in any case) and nothing else', () => {
    const cases: [string | undefined, string | null][] = [
      [`Bearer ${TOKEN}`, TOKEN],
      [`bearer ${TOKEN}`, TOKEN],
      [`BEARER  ${TOKEN} `, TOKEN],
      [undefined, null],
      ['', null],
      ['Bearer', null],
      ['Bearer ', null],
      [`Basic ${Buffer.from('owner:secret').toString('base64')}`, null],
      [`Bearer ${TOKEN} extra`, null],
      [`Bearer ${TOKEN}\r\nX-Injected: 1`, null],
      [`Token ${TOKEN}`, null],
    ];
    for (const [header, want] of cases) assert.equal(bearerToken(header), want, JSON.stringify(header));
  });

  it('knows listflow tokens by shape, so junk never reaches the database', () => {
    assert.equal(isApiTokenShape(TOKEN), true);
    for (const t of ['lf_short', `xx_${TOKEN.slice(3)}`, `${TOKEN}A`, `lf_${'A'.repeat(42)}=`]) assert.equal(isApiTokenShape(t), false, t);
    assert.equal(hashApiToken(TOKEN).length, 32);
  });

  it('checks names and records a token as token:<name>', () => {
    for (const ok of ['ops', 'ci-deploy', 'a', 'team.ops_2', 'x'.repeat(64)]) assert.equal(isApiTokenName(ok), true, ok);
    for (const bad of ['', 'Ops', '-x', '.x', 'a b', 'a:b', 'x'.repeat(65), 'é']) assert.equal(isApiTokenName(bad), false, bad);
    assert.equal(tokenActor('ops'), 'token:ops');
    assert.match(bearerChallenge(false), /^Bearer realm="listflow"$/);
    assert.match(bearerChallenge(true), /^Bearer realm="listflow", error="invalid_token"$/);
  });
});
