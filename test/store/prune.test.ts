// Retention on a real PostgreSQL: what is older than its retention goes, in batches; what is still needed
// stays — a post that still runs (held for weeks), an archived post's message, a post its digest has yet to
// send, an edited approval stored while a post waits, an idempotency record younger than Temporal's memory.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pruneOnce, type WorkflowFate, type WorkflowLookup } from '../../activities/prune.js';
import { workflowIdFor } from '../../mail/ids.js';
import { defaultSiteSettings } from '../../mail/site-settings.js';
import { getList } from '../../store/lists.js';
import { markStarted, putMessage, recordInbound } from '../../store/messages.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { createList } from '../helpers/stack.js';
import { uniqueName } from '../helpers/temporal.js';

const DAY = 86_400_000;
const daysAgo = (n: number) => new Date(Date.now() - n * DAY);

describe('pruning what finished mail leaves behind', () => {
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase();
  });
  after(async () => {
    await database.drop();
  });

  const q = (sql: string, params: unknown[] = []) => database.db.query(sql, params);
  const exists = async (table: string, column: string, value: string) => ((await q(`SELECT 1 FROM ${table} WHERE ${column} = $1`, [value])).rowCount ?? 0) > 0;
  const messageKept = (sha: string) => exists('messages', 'sha256', sha);

  /** A message as ingress records it, received `days` ago. */
  async function received(list: string, subject: string, days: number, kind = 'post') {
    const raw = Buffer.from(`From: someone@example.com\r\nTo: ${list}\r\nSubject: ${subject}\r\nMessage-ID: <${uniqueName('m')}@example.com>\r\n\r\nbody of ${subject}\r\n`);
    const sha256 = await putMessage(database.db, raw);
    const workflowId = workflowIdFor(kind as 'post', list, sha256);
    await recordInbound(database.db, [{ workflowId, listAddress: list, kind, sha256, envelopeFrom: 'someone@example.com', rcptTo: list }]);
    await markStarted(database.db, [workflowId]);
    await q('UPDATE inbound SET received_at = $2 WHERE workflow_id = $1', [workflowId, daysAgo(days)]);
    await q('UPDATE messages SET stored_at = $2 WHERE sha256 = $1', [sha256, daysAgo(days)]);
    return { workflowId, sha256 };
  }

  /** Accepted: a post row with its decorated message, a ledger of `recipients` (sent), a bounce event. */
  async function accepted(list: string, post: { workflowId: string }, days: number, recipients = 3, archived = false) {
    const listId = (await getList(database.db, list))!.id;
    const decorated = await putMessage(database.db, Buffer.from(`Subject: [list] ${post.workflowId}\r\n\r\ndecorated\r\n`));
    await q('UPDATE messages SET stored_at = $2 WHERE sha256 = $1', [decorated, daysAgo(days)]);
    const seq = Number((await q('UPDATE lists SET next_seq = next_seq + 1 WHERE id = $1 RETURNING next_seq - 1 AS seq', [listId])).rows[0].seq);
    await q('INSERT INTO posts (workflow_id, list_id, seq, decorated_sha256, accepted_at) VALUES ($1, $2, $3, $4, $5)', [post.workflowId, listId, seq, decorated, daysAgo(days)]);
    await q(
      `INSERT INTO deliveries (workflow_id, recipient, batch, verp_token, status, updated_at)
       SELECT $1, 'r' || g || '@example.net', 0, 'v' || g, 'sent', $3 FROM generate_series(1, $2::int) g`,
      [post.workflowId, recipients, daysAgo(days)],
    );
    if (archived) {
      await q(
        `INSERT INTO archive (list_id, seq, workflow_id, sha256, message_id, message_id_hash, thread_id, subject, base_subject, author_name, date, body_text)
         VALUES ($1, $2, $3, $4, $3, $3, $3, 's', 's', 'a', now(), 'b')`,
        [listId, seq, post.workflowId, decorated],
      );
    }
    return decorated;
  }

  function lookup(fates: Map<string, WorkflowFate>, digestPending = new Map<string, Set<string>>()): WorkflowLookup {
    return {
      async fates(ids) {
        return new Map(ids.flatMap((id) => (fates.has(id) ? [[id, fates.get(id)!] as const] : [])));
      },
      async digestPending(list) {
        return digestPending.get(list) ?? new Set();
      },
    };
  }

  const run = (l: WorkflowLookup, batch = 2) =>
    pruneOnce(database.db, l, { batch, budgetMs: 60_000, progress: () => {}, namespaceRetentionDays: 30, settings: defaultSiteSettings() });

  it('prunes the ledger, post rows, raw messages and records past retention, and keeps every message still needed', async () => {
    const list = await createList(database.db, [], 'prune');
    const digestList = await createList(database.db, [], 'digest');
    const fates = new Map<string, WorkflowFate>();

    // Delivered 40 days ago: everything goes (ledger 30, raw 14, record 30).
    const old = await received(list, 'old', 41);
    const oldDecorated = await accepted(list, old, 41, 7);
    fates.set(old.workflowId, { kind: 'closed', at: daysAgo(40) });
    // Bounce events: 100 days old goes (90), 40 days old stays.
    const bounce = `INSERT INTO bounce_events (list_id, recipient, source, workflow_id, code, created_at) VALUES ((SELECT id FROM lists WHERE address = $1), $2, 'delivery', $3, 550, $4)`;
    await q(bounce, [list, 'r1@example.net', old.workflowId, daysAgo(100)]);
    await q(bounce, [list, 'r2@example.net', old.workflowId, daysAgo(40)]);

    // Held for 40 days and still waiting: its workflow runs, nothing of it goes.
    const held = await received(list, 'held', 40);
    fates.set(held.workflowId, { kind: 'running' });

    // Archived 40 days ago: the archive keeps the decorated message; the message as received goes.
    const archived = await received(list, 'archived', 41);
    const archivedDecorated = await accepted(list, archived, 41, 2, true);
    fates.set(archived.workflowId, { kind: 'closed', at: daysAgo(40) });

    // Discarded 20 days ago: its raw message goes (14 days), its idempotency record stays (30).
    const discarded = await received(list, 'spam', 20);
    fates.set(discarded.workflowId, { kind: 'closed', at: daysAgo(20) });

    // Delivered 5 days ago: nothing is due.
    const recent = await received(list, 'recent', 5);
    const recentDecorated = await accepted(list, recent, 5);
    fates.set(recent.workflowId, { kind: 'closed', at: daysAgo(5) });

    // Delivered 40 days ago to a list whose monthly digest has yet to send it.
    const digested = await received(digestList, 'in the digest', 41);
    const digestedDecorated = await accepted(digestList, digested, 41);
    fates.set(digested.workflowId, { kind: 'closed', at: daysAgo(40) });

    // Unknown to Temporal: 40 days old is past its memory (gone); 5 days old may be a workflow elsewhere (kept).
    const gone = await received(list, 'gone', 40);
    fates.set(gone.workflowId, { kind: 'gone' });
    const unknown = await received(list, 'unknown', 5);
    fates.set(unknown.workflowId, { kind: 'gone' });

    // Orphans: one stored before any running workflow came (and past the raw retention), one while the held
    // post waits (it may be its edited approval).
    const stale = await putMessage(database.db, Buffer.from('Subject: edited long ago\r\n\r\nx\r\n'));
    await q('UPDATE messages SET stored_at = $2 WHERE sha256 = $1', [stale, daysAgo(60)]);
    const edited = await putMessage(database.db, Buffer.from('Subject: edited for the held post\r\n\r\nx\r\n'));
    await q('UPDATE messages SET stored_at = $2 WHERE sha256 = $1', [edited, daysAgo(20)]);

    await q(`INSERT INTO used_tokens (token_key, kind, subject, action, used_by, claimed_by, expires_at) VALUES ('t-old', 'm', 's', 'a', 'u', 'c', $1), ('t-new', 'm', 's', 'a', 'u', 'c', $2)`, [daysAgo(3), daysAgo(-3)]);

    const result = await run(lookup(fates, new Map([[digestList, new Set([digested.workflowId])]])));
    assert.equal(result.more, false);

    // The old post: ledger, post row, decorated and raw message, record, bounce event.
    assert.equal((await q('SELECT 1 FROM deliveries WHERE workflow_id = $1', [old.workflowId])).rowCount, 0);
    assert.equal(await exists('posts', 'workflow_id', old.workflowId), false);
    assert.equal(await messageKept(old.sha256), false);
    assert.equal(await messageKept(oldDecorated), false);
    assert.equal(await exists('inbound', 'workflow_id', old.workflowId), false);
    assert.deepEqual((await q('SELECT recipient FROM bounce_events WHERE workflow_id = $1', [old.workflowId])).rows, [{ recipient: 'r2@example.net' }]);

    // The held post: its message and record survive.
    assert.equal(await messageKept(held.sha256), true, "a held post's message survives");
    assert.equal((await q('SELECT sha256 FROM inbound WHERE workflow_id = $1', [held.workflowId])).rows[0]?.sha256, held.sha256);

    // The archived post: the archive's message survives; the post row, ledger and message as received do not.
    assert.equal(await messageKept(archivedDecorated), true, "an archived post's message survives");
    assert.equal(await messageKept(archived.sha256), false);
    assert.equal(await exists('posts', 'workflow_id', archived.workflowId), false);

    // The discarded post: raw message gone, record kept without its hash.
    assert.equal(await messageKept(discarded.sha256), false);
    assert.deepEqual((await q('SELECT sha256, finished_at IS NOT NULL AS finished FROM inbound WHERE workflow_id = $1', [discarded.workflowId])).rows, [{ sha256: null, finished: true }]);

    // The recent post: all kept.
    assert.equal(await messageKept(recent.sha256), true);
    assert.equal(await messageKept(recentDecorated), true);
    assert.equal((await q('SELECT 1 FROM deliveries WHERE workflow_id = $1', [recent.workflowId])).rowCount, 3);

    // The digest's post: ledger gone, post row and decorated message kept for the issue.
    assert.equal((await q('SELECT 1 FROM deliveries WHERE workflow_id = $1', [digested.workflowId])).rowCount, 0);
    assert.equal(await exists('posts', 'workflow_id', digested.workflowId), true);
    assert.equal(await messageKept(digestedDecorated), true, 'a post the digest has yet to send keeps its message');
    assert.equal(result.counts.keptForDigest, 1);

    // Unknown to Temporal.
    assert.equal(await exists('inbound', 'workflow_id', gone.workflowId), false);
    assert.equal(await messageKept(unknown.sha256), true);
    assert.equal((await q('SELECT finished_at FROM inbound WHERE workflow_id = $1', [unknown.workflowId])).rows[0]?.finished_at, null);

    // Orphans and expired rows.
    assert.equal(await messageKept(stale), false);
    assert.equal(await messageKept(edited), true, 'an edited approval stored while a post waits survives');
    assert.deepEqual((await q('SELECT token_key FROM used_tokens ORDER BY token_key')).rows, [{ token_key: 't-new' }]);

    assert.equal(result.counts.deliveries, 7 + 2 + 3);
    assert.equal(result.counts.posts, 2);

    // Once the digest sent it and the held post was decided long ago, a later run takes them too.
    fates.set(held.workflowId, { kind: 'closed', at: daysAgo(31) });
    await q('UPDATE inbound SET finished_at = NULL WHERE workflow_id = $1', [held.workflowId]);
    // A week on, the complete scan for orphaned messages is due again.
    await q("UPDATE site SET value = jsonb_set(value::jsonb, '{completedAt}', to_jsonb($1::text))::text WHERE key = 'prune_orphan_scan'", [daysAgo(8).toISOString()]);
    const second = await run(lookup(fates));
    assert.equal(second.counts.posts, 1);
    assert.equal(await messageKept(digestedDecorated), false);
    assert.equal(await messageKept(held.sha256), false);
    assert.equal(await messageKept(edited), false, 'the edited approval goes once no workflow that could use it runs');
    assert.equal(await exists('inbound', 'workflow_id', held.workflowId), false);

    // Nothing left to do: a third run removes nothing.
    const third = await run(lookup(fates));
    assert.deepEqual(
      Object.entries(third.counts).filter(([, n]) => n > 0),
      [],
    );
  });

  it('a run that runs out of time says so, and the next goes on where it stopped', async () => {
    const list = await createList(database.db, [], 'budget');
    const fates = new Map<string, WorkflowFate>();
    for (let i = 0; i < 5; i++) {
      const p = await received(list, `p${i}`, 50);
      await accepted(list, p, 50, 20);
      fates.set(p.workflowId, { kind: 'closed', at: daysAgo(50) });
    }
    const l = lookup(fates);
    const first = await pruneOnce(database.db, l, { batch: 10, budgetMs: 0, progress: () => {}, namespaceRetentionDays: 30, settings: defaultSiteSettings() });
    assert.equal(first.more, true);
    let calls = 1;
    let last = first;
    while (last.more && calls < 100) {
      last = await run(l, 10);
      calls += 1;
    }
    assert.equal(last.more, false);
    assert.equal((await q('SELECT count(*)::int AS n FROM deliveries d JOIN inbound i USING (workflow_id) WHERE i.list_address = $1', [list])).rows[0].n, 0);
    assert.equal((await q('SELECT count(*)::int AS n FROM inbound WHERE list_address = $1', [list])).rows[0].n, 0);
  });

  it('retention 0 keeps the ledger and raw messages for ever', async () => {
    const list = await createList(database.db, [], 'forever');
    const p = await received(list, 'kept', 400);
    const decorated = await accepted(list, p, 400);
    const fates = new Map<string, WorkflowFate>([[p.workflowId, { kind: 'closed', at: daysAgo(400) }]]);
    await pruneOnce(database.db, lookup(fates), {
      batch: 100,
      budgetMs: 60_000,
      progress: () => {},
      namespaceRetentionDays: 30,
      settings: { ...defaultSiteSettings(), retention_raw_days: 0, retention_ledger_days: 0 },
    });
    assert.equal(await messageKept(p.sha256), true);
    assert.equal(await messageKept(decorated), true);
    assert.equal(await exists('inbound', 'workflow_id', p.workflowId), true, 'the record stays while its message does');
    assert.equal((await q('SELECT 1 FROM deliveries WHERE workflow_id = $1', [p.workflowId])).rowCount, 3);
  });

  it("takes old digest issues with their sends and messages, never a list's latest issue", async () => {
    const list = await createList(database.db, [], 'digests');
    const listId = (await getList(database.db, list))!.id;
    const issue = async (number: number, days: number) => {
      const mime = await putMessage(database.db, Buffer.from(`Subject: issue ${number} ${list} mime\r\n\r\nx\r\n`));
      const plain = await putMessage(database.db, Buffer.from(`Subject: issue ${number} ${list} plain\r\n\r\nx\r\n`));
      await q('UPDATE messages SET stored_at = $2 WHERE sha256 = ANY($1::text[])', [[mime, plain], daysAgo(days)]);
      const { rows } = await q(
        `INSERT INTO digest_issues (list_id, volume, number, mime_sha256, plain_sha256, posts, created_at) VALUES ($1, 1, $2, $3, $4, '{}', $5) RETURNING id`,
        [listId, number, mime, plain, daysAgo(days)],
      );
      await q(`INSERT INTO digest_sends (issue_id, recipient, format, status) SELECT $1, 'd' || g || '@example.net', 'mime', 'sent' FROM generate_series(1, 30) g`, [rows[0].id]);
      return { id: rows[0].id as string, mime, plain };
    };
    const old = await issue(1, 60);
    const lastButOld = await issue(2, 45);
    const result = await run(lookup(new Map()), 10);
    assert.equal(result.counts.digestIssues, 1);
    assert.equal(result.counts.digestSends, 30);
    assert.equal(await exists('digest_issues', 'id', old.id), false);
    assert.equal(await messageKept(old.mime), false);
    assert.equal(await messageKept(old.plain), false);
    assert.equal(await exists('digest_issues', 'id', lastButOld.id), true, "the list's latest issue numbers the next");
    assert.equal((await q('SELECT count(*)::int AS n FROM digest_sends WHERE issue_id = $1', [lastButOld.id])).rows[0].n, 30);
    assert.equal(await messageKept(lastButOld.mime), true);
  });
});
