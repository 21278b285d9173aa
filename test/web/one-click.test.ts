// RFC 8058 one-click unsubscription over real HTTP on loopback: POST unsubscribes exactly the membership the
// link names, GET (what link scanners do) never does, and every bad request is a 4xx that changes nothing.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { mailtoUnsubscribe, oneClickUrl, UNSUBSCRIBE_TOKEN_DAYS } from '../../mail/links.js';
import { issueToken } from '../../mail/tokens.js';
import { siteSecret } from '../../store/db.js';
import { createList, getList } from '../../store/lists.js';
import { addMembers, findMember } from '../../store/members.js';
import { createWebServer } from '../../web/server.js';
import { closedPort, runCli, type CliEnv } from '../cli/run-cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { devServerAddress, uniqueName } from '../helpers/temporal.js';

const ONE_CLICK = 'List-Unsubscribe=One-Click';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
/** What fetch takes as a body (the DOM's Body is not in this project's lib). */
type Body = string | FormData | null;

describe('one-click unsubscription (RFC 8058)', () => {
  let database: TestDatabase;
  let connection: Connection;
  let server: http.Server;
  let base: string;
  let secret: string;
  let cliEnv: CliEnv;

  before(async () => {
    database = await createTestDatabase();
    connection = await Connection.connect({ address: devServerAddress() });
    server = createWebServer({ db: database.db, client: new Client({ connection, namespace: 'default' }) });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    secret = await siteSecret(database.db);
    // The CLI reads only the database; a closed Temporal port proves it does not need more.
    cliEnv = { DATABASE_URL: database.url, TEMPORAL_ADDRESS: `127.0.0.1:${await closedPort()}` };
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await connection.close();
    await database.drop();
  });

  async function newList(members: string[], displayName?: string): Promise<string> {
    const address = `${uniqueName('dev')}@lists.example`;
    const list = await createList(database.db, address, displayName);
    await addMembers(database.db, list.id, members);
    return address;
  }

  async function verpTokenOf(list: string, address: string): Promise<string> {
    const l = await getList(database.db, list);
    const m = (await findMember(database.db, l?.id ?? -1, address)).find((r) => r.role === 'member');
    assert.ok(m, `${address} is a member of ${list}`);
    return m.verpToken;
  }

  /** The link a member's copy of a post carries in List-Unsubscribe. */
  async function linkFor(list: string, address: string, nowSeconds?: number): Promise<string> {
    return oneClickUrl(secret, base, list, await verpTokenOf(list, address), nowSeconds);
  }

  /** `listflow members list <list>`, the real CLI, as the addresses it prints. */
  async function cliMembers(list: string): Promise<string[]> {
    const r = await runCli(cliEnv, ['members', 'list', list]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout
      .split('\n')
      .slice(1)
      .map((line) => line.split(/\s+/)[0] ?? '')
      .filter((a) => a.includes('@'));
  }

  async function audit(list: string): Promise<{ address: string; via: string }[]> {
    const { rows } = await database.db.query<{ address: string; via: string }>(
      'SELECT address, via FROM unsubscriptions WHERE list_address = $1 ORDER BY id',
      [list],
    );
    return rows;
  }

  async function isMember(list: string, address: string): Promise<boolean> {
    const l = await getList(database.db, list);
    return (await findMember(database.db, l?.id ?? -1, address)).some((r) => r.role === 'member');
  }

  const postOneClick = (url: string, body: Body | null = ONE_CLICK, headers: Record<string, string> = FORM) =>
    fetch(url, { method: 'POST', headers, body, redirect: 'manual' });

  it('GET shows a form and changes nothing; POST List-Unsubscribe=One-Click removes the member, audited; a second POST is idempotent', async () => {
    const list = await newList(['alice@example.com', 'bob@example.com']);
    const link = await linkFor(list, 'alice@example.com');
    assert.ok(link.startsWith(`${base}/u/${encodeURIComponent(list)}/`), link);

    const shown = await fetch(link);
    assert.equal(shown.status, 200);
    assert.match(shown.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
    assert.equal(shown.headers.get('cache-control'), 'no-store');
    const form = await shown.text();
    assert.match(form, /alice@example\.com/);
    assert.match(form, /<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">/);
    assert.deepEqual(await cliMembers(list), ['alice@example.com', 'bob@example.com'], 'GET unsubscribed nobody');
    assert.deepEqual(await audit(list), []);

    const done = await postOneClick(link);
    assert.equal(done.status, 200);
    const donePage = await done.text();
    assert.match(donePage, /<strong>alice@example\.com<\/strong> has been unsubscribed from/);
    assert.deepEqual(await cliMembers(list), ['bob@example.com']);
    assert.deepEqual(await audit(list), [{ address: 'alice@example.com', via: 'one-click' }]);
    const shownByCli = await runCli(cliEnv, ['members', 'unsubscribed', list]);
    assert.equal(shownByCli.code, 0, shownByCli.stderr);
    assert.match(shownByCli.stdout, /^ADDRESS\s+VIA\s+AT\nalice@example\.com\s+one-click\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\n$/);

    const again = await postOneClick(link);
    assert.equal(again.status, 200);
    assert.match(await again.text(), /<strong>alice@example\.com<\/strong> is already unsubscribed from .*Nothing was changed/);
    assert.deepEqual(await cliMembers(list), ['bob@example.com'], 'the repeat removed nobody else');
    assert.equal((await audit(list)).length, 1, 'one audit row per membership');

    const later = await fetch(link);
    assert.equal(later.status, 200);
    const laterPage = await later.text();
    assert.match(laterPage, /already unsubscribed/);
    assert.doesNotMatch(laterPage, /<form/, 'no button for a membership that is gone');
  });

  it('accepts the body as multipart/form-data, as RFC 8058 allows mail clients to send it', async () => {
    const list = await newList(['carol@example.com', 'dan@example.com']);
    const body = new FormData();
    body.append('List-Unsubscribe', 'One-Click');
    // fetch sets the multipart Content-Type with its boundary itself.
    const res = await fetch(await linkFor(list, 'carol@example.com'), { method: 'POST', body });
    assert.equal(res.status, 200, await res.clone().text());
    assert.match(await res.text(), /has been unsubscribed/);
    assert.deepEqual(await cliMembers(list), ['dan@example.com']);
    assert.deepEqual(await audit(list), [{ address: 'carol@example.com', via: 'one-click' }]);
  });

  it('refuses forged, expired, other-list, wrong-kind tokens and bad bodies with a 4xx that says why, changing nothing', async () => {
    const a = await newList(['erin@example.com', 'frank@example.com']);
    const b = await newList(['erin@example.com']);
    const link = await linkFor(a, 'erin@example.com');
    const token = link.slice(link.lastIndexOf('/') + 1);
    const aPath = `${base}/u/${encodeURIComponent(a)}/`;
    // One character changed, at the start (the token's head) and in the middle (ref or MAC).
    const flip = (t: string, i: number) => t.slice(0, i) + (t[i] === 'a' ? 'b' : 'a') + t.slice(i + 1);
    const moderationToken = issueToken(secret, { kind: 'moderation', action: 'approve', list: a, ref: Buffer.alloc(8), expiresAt: Math.floor(Date.now() / 1000) + 3600 });
    const twoYearsAgo = Math.floor(Date.now() / 1000) - (UNSUBSCRIBE_TOKEN_DAYS + 365) * 86_400;

    const cases: { name: string; url: string; body?: Body | null; headers?: Record<string, string>; status: number; says: RegExp }[] = [
      { name: 'forged head', url: aPath + flip(token, 0), status: 403, says: /not valid for/ },
      { name: 'forged middle', url: aPath + flip(token, 20), status: 403, says: /not valid for/ },
      { name: 'forged tail', url: aPath + flip(token, token.length - 2), status: 403, says: /not valid for/ },
      { name: 'truncated', url: aPath + token.slice(0, -3), status: 400, says: /not a valid unsubscription link/ },
      { name: "A's token on B's URL", url: `${base}/u/${encodeURIComponent(b)}/${token}`, status: 403, says: /not valid for/ },
      { name: 'expired', url: await linkFor(a, 'erin@example.com', twoYearsAgo), status: 410, says: new RegExp(`too old.*${mailtoUnsubscribe(a).replace(/[.?+]/g, '\\$&')}`) },
      { name: 'a moderation token', url: aPath + moderationToken, status: 403, says: /not an unsubscription link/ },
      { name: 'no body', url: link, body: null, status: 400, says: /List-Unsubscribe=One-Click/ },
      { name: 'wrong value', url: link, body: 'List-Unsubscribe=Yes', status: 400, says: /List-Unsubscribe=One-Click/ },
      { name: 'other field', url: link, body: 'unsubscribe=1', status: 400, says: /List-Unsubscribe=One-Click/ },
      { name: 'JSON', url: link, body: '{"List-Unsubscribe":"One-Click"}', headers: { 'content-type': 'application/json' }, status: 415, says: /application\/json is not accepted/ },
      { name: 'broken multipart', url: link, body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'multipart/form-data; boundary=zzz' }, status: 400, says: /could not be parsed/ },
    ];
    for (const c of cases) {
      const res = await postOneClick(c.url, c.body === undefined ? ONE_CLICK : c.body, c.headers ?? FORM);
      const text = await res.text();
      assert.equal(res.status, c.status, `${c.name}: ${text}`);
      assert.match(text, c.says, c.name);
      assert.match(text, /nothing was changed/i, c.name);
    }
    // The same bad links by GET: a 4xx page, no form.
    for (const c of cases.filter((x) => x.url !== link)) {
      const res = await fetch(c.url);
      assert.equal(res.status, c.status, `GET ${c.name}`);
      assert.doesNotMatch(await res.text(), /<form/, `GET ${c.name}`);
    }
    assert.deepEqual(await cliMembers(a), ['erin@example.com', 'frank@example.com']);
    assert.deepEqual(await cliMembers(b), ['erin@example.com']);
    assert.deepEqual([...(await audit(a)), ...(await audit(b))], []);

    // And the genuine link still works afterwards, on its own list only.
    assert.equal((await postOneClick(link)).status, 200);
    assert.deepEqual(await cliMembers(a), ['frank@example.com']);
    assert.deepEqual(await cliMembers(b), ['erin@example.com']);
  });

  it('an old link does not unsubscribe the same address after it subscribed again (a new membership has a new VERP token)', async () => {
    const list = await newList(['gina@example.com']);
    const oldLink = await linkFor(list, 'gina@example.com');
    assert.equal((await postOneClick(oldLink)).status, 200);
    assert.equal(await isMember(list, 'gina@example.com'), false);

    const rejoined = await runCli(cliEnv, ['members', 'add', list, 'gina@example.com']);
    assert.equal(rejoined.code, 0, rejoined.stderr);
    const newLink = await linkFor(list, 'gina@example.com');
    assert.notEqual(newLink, oldLink);

    const stale = await postOneClick(oldLink);
    assert.equal(stale.status, 200);
    assert.match(await stale.text(), /already unsubscribed/);
    assert.deepEqual(await cliMembers(list), ['gina@example.com'], 'the new subscription survives the old link');
    const staleGet = await (await fetch(oldLink)).text();
    assert.doesNotMatch(staleGet, /<form/, 'the old link offers no button for the new membership');

    assert.equal((await postOneClick(newLink)).status, 200);
    assert.deepEqual(await cliMembers(list), []);
    assert.deepEqual(await audit(list), [
      { address: 'gina@example.com', via: 'one-click' },
      { address: 'gina@example.com', via: 'one-click' },
    ]);
  });

  it('listflow members unsubscribed: JSON for scripts, a list with none, and a list that does not exist', async () => {
    const list = await newList(['kim@example.com']);
    const none = await runCli(cliEnv, ['members', 'unsubscribed', list]);
    assert.deepEqual([none.code, none.stdout], [0, `${list}: no unsubscriptions recorded\n`]);
    assert.equal((await postOneClick(await linkFor(list, 'kim@example.com'))).status, 200);
    const asJson = await runCli(cliEnv, ['members', 'unsubscribed', list, '--json']);
    assert.equal(asJson.code, 0, asJson.stderr);
    const rows = JSON.parse(asJson.stdout) as { address: string; via: string; at: string }[];
    assert.deepEqual(rows.map((r) => [r.address, r.via]), [['kim@example.com', 'one-click']]);
    assert.ok(Math.abs(Date.parse(rows[0]?.at ?? '') - Date.now()) < 60_000, rows[0]?.at);
    const missing = await runCli(cliEnv, ['members', 'unsubscribed', 'nosuch@lists.example']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /there is no list nosuch@lists\.example/);
  });

  it('two POSTs of the same link at once remove the member once and record one row', async () => {
    const list = await newList(['hal@example.com', 'ivy@example.com']);
    const link = await linkFor(list, 'hal@example.com');
    const pages = await Promise.all([postOneClick(link), postOneClick(link), postOneClick(link)].map(async (p) => {
      const res = await p;
      assert.equal(res.status, 200);
      return res.text();
    }));
    assert.equal(pages.filter((t) => /has been unsubscribed/.test(t)).length, 1);
    assert.equal(pages.filter((t) => /already unsubscribed/.test(t)).length, 2);
    assert.deepEqual(await cliMembers(list), ['ivy@example.com']);
    assert.equal((await audit(list)).length, 1);
  });

  it('GET and HEAD never unsubscribe, and the page escapes what it shows', async () => {
    const list = await newList([], '<script>alert(1)</script> & "friends"');
    const l = await getList(database.db, list);
    // An address as a quoted local part may hold markup; it must reach the page as text.
    await addMembers(database.db, l?.id ?? -1, ['"<b>x</b>"@example.com']);
    const link = await linkFor(list, '"<b>x</b>"@example.com');
    for (let i = 0; i < 3; i++) {
      const res = await fetch(link);
      assert.equal(res.status, 200);
      const html = await res.text();
      assert.doesNotMatch(html, /<script>|<b>x/);
      assert.match(html, /&#60;script&#62;alert\(1\)&#60;\/script&#62; &#38; &#34;friends&#34;/);
      assert.match(html, /&#34;&#60;b&#62;x&#60;\/b&#62;&#34;@example\.com/);
    }
    const head = await fetch(link, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await isMember(list, '"<b>x</b>"@example.com'), true);
    assert.deepEqual(await audit(list), []);
  });

  it('answers 405 for other methods, 413 for a large body, 404 for paths that do not parse or a list that is gone', async () => {
    const list = await newList(['jo@example.com']);
    const link = await linkFor(list, 'jo@example.com');

    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const res = await fetch(link, { method, headers: FORM, body: ONE_CLICK });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get('allow'), 'GET, HEAD, POST');
      assert.match(await res.text(), /POST unsubscribes/);
    }

    const big = `${ONE_CLICK}&pad=${'x'.repeat(9 * 1024)}`;
    const tooLarge = await postOneClick(link, big);
    assert.equal(tooLarge.status, 413);
    assert.match(await tooLarge.text(), /larger than 8192 bytes/);
    // Without a Content-Length (chunked), the limit is counted while reading.
    const chunked = await rawPost(link, [ONE_CLICK, `&pad=${'x'.repeat(5000)}`, 'x'.repeat(5000)]);
    assert.equal(chunked.status, 413);
    assert.equal(await isMember(list, 'jo@example.com'), true);

    const token = link.slice(link.lastIndexOf('/') + 1);
    for (const path of ['/u', '/u/', `/u/${encodeURIComponent(list)}`, `/u/${encodeURIComponent(list)}/${token}/more`, `/u/not-a-list/${token}`, `/u/%E0%A4%A/${token}`, `/u/${encodeURIComponent(list)}/${token.replace(/^./, '0')}`]) {
      const res = await fetch(base + path, { method: 'POST', headers: FORM, body: ONE_CLICK });
      assert.equal(res.status, 404, path);
      assert.match(await res.text(), /not an unsubscription link/);
    }
    // A properly signed link for a list that no longer exists.
    const gone = oneClickUrl(secret, base, `${uniqueName('gone')}@lists.example`, 'abcdef0123456789abcd');
    const res = await postOneClick(gone);
    assert.equal(res.status, 404);
    assert.match(await res.text(), /does not exist/);

    assert.equal(await isMember(list, 'jo@example.com'), true);
    assert.deepEqual(await audit(list), []);
    // The JSON API beside it is unchanged.
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });

  /** A POST with a chunked body (no Content-Length), written piece by piece. */
  function rawPost(url: string, pieces: string[]): Promise<{ status: number }> {
    return new Promise((resolve, reject) => {
      const req = http.request(url, { method: 'POST', headers: FORM }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0 });
      });
      req.on('error', reject);
      for (const p of pieces) req.write(p);
      req.end();
    });
  }
});
