// Scenario prune: 50,000 posts' worth of rows, made through the store functions at the rate posts make them, a
// round of posts per simulated day with the prune pass between rounds; prints database size and RSS per round,
// which must go flat once the retention is reached. A full end-to-end run of 50,000 posts takes hours on two
// cores; the rows are what grows, and they are what this makes. The lookup asks the bench's Temporal dev server
// (one describe per finished workflow, as in production).
import { randomBytes } from 'node:crypto';
import { prune, temporalLookup, type PruneCutoffs, type WorkflowLookup } from '../activities/prune.js';
import { workflowIdFor } from '../mail/ids.js';
import { recordBounceEvent, markInBatch, snapshotRecipients } from '../store/deliveries.js';
import { createList, nextSequence, updateSettings } from '../store/lists.js';
import { addMembers } from '../store/members.js';
import { markStarted, putMessage, recordInbound } from '../store/messages.js';
import { retentionFootprint } from '../store/prune.js';
import type { Db } from '../store/db.js';
import { envInt, type BenchContext } from './context.js';
import { formatTable } from './table.js';

const MB = 1024 * 1024;

/** Retention in rounds (simulated days): the defaults' proportions, shortened so the bench reaches steady state. */
const RETENTION = { raw: 5, ledger: 10, inbound: 10, bounceEvents: 20, namespace: 10, orphanScan: 7 };

/** One post's rows, as ingress, acceptance, delivery and bounce processing write them. */
async function makePost(db: Db, list: { id: number; address: string }, n: number, held: boolean): Promise<{ workflowId: string; sha256: string }> {
  // 2–12 KiB of text that does not compress away, like real mail with a base64 attachment now and then.
  const body = randomBytes(1536 + ((n * 7919) % 7680)).toString('base64');
  const raw = Buffer.from(`From: poster${n % 500}@members.example\r\nTo: ${list.address}\r\nSubject: post ${n}\r\nMessage-ID: <${n}.${randomBytes(6).toString('hex')}@bench>\r\n\r\n${body}\r\n`);
  const sha256 = await putMessage(db, raw);
  const workflowId = workflowIdFor('post', list.address, sha256);
  await recordInbound(db, [{ workflowId, listAddress: list.address, kind: 'post', sha256, envelopeFrom: `poster${n % 500}@members.example`, rcptTo: list.address }]);
  await markStarted(db, [workflowId]);
  // One in five is spam, discarded; held posts wait (their workflow runs) for the whole bench.
  if (held || n % 5 === 0) return { workflowId, sha256 };
  const decorated = await putMessage(db, Buffer.concat([Buffer.from(`List-Id: <bench>\r\nX-Seq: ${n}\r\n`), raw]));
  const seq = await nextSequence(db, list.id);
  await db.query('INSERT INTO posts (workflow_id, list_id, seq, decorated_sha256) VALUES ($1, $2, $3, $4)', [workflowId, list.id, seq, decorated]);
  const { total } = await snapshotRecipients(db, workflowId, list.id, 500);
  const { rows } = await db.query<{ recipient: string }>('SELECT recipient FROM deliveries WHERE workflow_id = $1', [workflowId]);
  await markInBatch(db, workflowId, 0, rows.map((r) => r.recipient).slice(1), 'sent', 250, null);
  await markInBatch(db, workflowId, 0, rows.slice(0, 1).map((r) => r.recipient), 'failed', 550, '5.1.1 user unknown');
  if (total > 0 && n % 10 === 1) await recordBounceEvent(db, { listId: list.id, recipient: rows[0]?.recipient ?? null, source: 'delivery', workflowId, code: 550, reason: 'user unknown' });
  return { workflowId, sha256 };
}

/** Every table, index and TOAST table of the schema with its size on disk. */
async function relationSizes(db: Db): Promise<Map<string, number>> {
  const { rows } = await db.query<{ name: string; bytes: string }>(
    `SELECT c.relname AS name, pg_relation_size(c.oid) AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname IN ('public', 'pg_toast') AND c.relkind IN ('r', 'i', 't')`,
  );
  return new Map(rows.map((r) => [r.name, Number(r.bytes)]));
}

async function eachLimited(count: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < count) await fn(next++);
  }));
}

export async function pruneBench(ctx: BenchContext): Promise<void> {
  const posts = envInt('BENCH_PRUNE_POSTS', 50_000);
  const rounds = envInt('BENCH_PRUNE_ROUNDS', 50);
  const members = envInt('BENCH_PRUNE_MEMBERS', 20);
  const perRound = Math.ceil(posts / rounds);
  const db = ctx.db;
  const list = await createList(db, `prune-bench-${randomBytes(3).toString('hex')}@lists.example`);
  // Not archived: the archive is kept for ever by design and would grow whatever the retention.
  await updateSettings(db, list.address, { archive_policy: 'never' });
  await addMembers(db, list.id, Array.from({ length: members }, (_, i) => `m${i}@members.example`));

  const held = new Set<string>();
  const heldMessages: string[] = [];
  const real = temporalLookup(ctx.temporal.client);
  const lookup: WorkflowLookup = {
    // Every post is asked once, as in production; the dev server does not know these (no workflow ran), so
    // "not found" stands for what a real post's describe says: closed, moments after it came (the round it came).
    async fates(ids) {
      const out = await real.fates(ids.filter((id) => !held.has(id)));
      const now = new Date();
      for (const [id, fate] of out) if (fate.kind === 'gone') out.set(id, { kind: 'closed', at: now });
      for (const id of ids) if (held.has(id)) out.set(id, { kind: 'running' });
      return out;
    },
    digestPending: (l) => real.digestPending(l),
  };

  console.log(`\n## prune: ${posts.toLocaleString('en')} posts in ${rounds} rounds (a round = a simulated day), ${members} members, retention in rounds: raw ${RETENTION.raw}, ledger ${RETENTION.ledger}, inbound ${RETENTION.inbound}, bounce events ${RETENTION.bounceEvents}`);
  const starts: Date[] = [];
  const rows: string[][] = [];
  let made = 0;
  let pruneMsTotal = 0;
  let steady: Map<string, number> | null = null;
  for (let r = 0; r < rounds; r++) {
    const start = new Date((await db.query<{ now: Date }>('SELECT clock_timestamp() AS now')).rows[0]!.now);
    starts.push(start);
    const t0 = performance.now();
    await eachLimited(perRound, 3, async (i) => {
      const n = made + i;
      const isHeld = n % 1000 === 999;
      const p = await makePost(db, list, n, isHeld);
      if (isHeld) {
        held.add(p.workflowId);
        heldMessages.push(p.sha256);
      }
    });
    made += perRound;
    const genMs = performance.now() - t0;
    // Everything of round r - N is past an N-day retention at the end of round r.
    const before = (days: number) => starts[Math.max(0, r + 1 - days)]!;
    const now = new Date();
    const cutoffs: PruneCutoffs = {
      now,
      orphanScanEvery: now.getTime() - before(RETENTION.orphanScan).getTime(),
      askBefore: now,
      goneBefore: r + 1 >= RETENTION.namespace ? before(RETENTION.namespace) : new Date(0),
      ledger: r + 1 >= RETENTION.ledger ? before(RETENTION.ledger) : new Date(0),
      raw: r + 1 >= RETENTION.raw ? before(RETENTION.raw) : new Date(0),
      inbound: r + 1 >= RETENTION.inbound ? before(RETENTION.inbound) : new Date(0),
      bounceEvents: r + 1 >= RETENTION.bounceEvents ? before(RETENTION.bounceEvents) : new Date(0),
      storedBefore: start,
      expired: { tokens: now, autoreplies: now, requests: now },
    };
    const t1 = performance.now();
    let result;
    let calls = 0;
    do {
      result = await prune(db, lookup, cutoffs, { batch: 5000, budgetMs: 300_000, progress: () => {} });
      calls += 1;
    } while (result.more);
    const pruneMs = performance.now() - t1;
    pruneMsTotal += pruneMs;
    const f = await retentionFootprint(db);
    const mem = process.memoryUsage();
    rows.push([
      String(r + 1),
      made.toLocaleString('en'),
      (genMs / 1000).toFixed(1),
      (pruneMs / 1000).toFixed(2),
      String(result.counts.finished),
      String(result.counts.messages),
      String(f.inbound),
      String(f.messages),
      String(f.posts),
      String(f.deliveries),
      String(f.bounce_events),
      ((f.database_bytes ?? 0) / MB).toFixed(1),
      (mem.rss / MB).toFixed(0),
      (mem.heapUsed / MB).toFixed(0),
    ]);
    if (r + 1 === RETENTION.bounceEvents + 1) steady = await relationSizes(db);
    ctx.log(`round ${r + 1}/${rounds}: ${made} posts, prune ${pruneMs.toFixed(0)} ms, ${((f.database_bytes ?? 0) / MB).toFixed(1)} MB, RSS ${(mem.rss / MB).toFixed(0)} MB`);
  }
  console.log(formatTable(['round', 'posts', 'make s', 'prune s', 'finished', 'msgs deleted', 'inbound', 'messages', 'posts rows', 'deliveries', 'bounce ev.', 'db MB', 'RSS MB', 'heap MB'], rows));
  if (steady) {
    // What still grows once every retention is reached, relation by relation.
    const end = await relationSizes(db);
    const grew = [...end].map(([name, bytes]) => [name, bytes - (steady!.get(name) ?? 0)] as const).filter(([, d]) => d !== 0).sort((a, b) => b[1] - a[1]);
    console.log(`growth from day ${RETENTION.bounceEvents + 1} to day ${rounds}: ${grew.slice(0, 8).map(([n, d]) => `${n} ${(d / 1024).toFixed(0)} KiB`).join(', ') || 'none'}`);
  }
  const { rows: kept } = await db.query<{ n: string }>('SELECT count(*) AS n FROM messages WHERE sha256 = ANY($1::text[])', [heldMessages]);
  console.log(`held posts (their workflows run throughout): ${heldMessages.length}, messages kept: ${kept[0]?.n}`);
  if (Number(kept[0]?.n) !== heldMessages.length) throw new Error('a held post lost its message');
  console.log(`prune time in all: ${(pruneMsTotal / 1000).toFixed(1)} s for ${made.toLocaleString('en')} posts (${(pruneMsTotal / made).toFixed(2)} ms a post)`);
}
