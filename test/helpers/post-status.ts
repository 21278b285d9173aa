// What an operator sees of a post: the status query over time, Temporal visibility, the ledger and bounce events.
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import type { Queryable } from '../../store/db.js';
import { statusQuery, type PostState, type PostStatus } from '../../workflows/messages.js';

const STATES: PostState[] = ['received', 'held', 'accepted', 'delivering', 'delivered', 'rejected', 'discarded', 'expired', 'failed'];

/** Asserts that a status answer carries every field DESIGN §4 promises, with consistent delivery counts. */
export function assertStatusComplete(s: PostStatus): void {
  assert.ok(STATES.includes(s.state), `unknown state ${String(s.state)}`);
  assert.equal(typeof s.list, 'string');
  assert.ok(s.sender === null || typeof s.sender === 'string', 'sender is a string or null');
  assert.equal(typeof s.subject, 'string');
  assert.equal(typeof s.messageId, 'string');
  assert.ok(!Number.isNaN(Date.parse(s.receivedAt)), `receivedAt is a time: ${s.receivedAt}`);
  assert.ok(s.decision && typeof s.decision.summary === 'string' && Array.isArray(s.decision.hits), 'decision with its reasons');
  for (const hit of s.decision.hits) assert.ok(hit.rule && hit.reason, `every rule hit names its rule and reason: ${JSON.stringify(hit)}`);
  const d = s.delivery;
  for (const key of ['total', 'sent', 'failed', 'pending'] as const) assert.ok(Number.isInteger(d[key]) && d[key] >= 0, `delivery.${key}`);
  assert.equal(d.sent + d.failed + d.pending, d.total, `delivery counts add up: ${JSON.stringify(d)}`);
  if (s.state !== 'received') {
    // Classified: who sent what is known from here on.
    assert.ok(s.decision.action, 'a classified post has a decision');
    assert.ok(s.messageId, 'a classified post has its Message-ID');
  }
}

export interface Watched {
  status: PostStatus;
  /** The distinct states the post was seen in, in order. */
  states: PostState[];
}

/**
 * Polls the status query until `done` holds, asserting every answer is complete on the way.
 * Queries fail until a worker has run the first workflow task; the last such error is reported on timeout.
 */
export async function watchPost(
  client: Client,
  workflowId: string,
  done: (s: PostStatus) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<Watched> {
  const deadline = Date.now() + timeoutMs;
  const states: PostState[] = [];
  let last: PostStatus | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await client.workflow.getHandle(workflowId).query(statusQuery);
      lastError = undefined;
      assertStatusComplete(last);
      if (states[states.length - 1] !== last.state) states.push(last.state);
      if (done(last)) return { status: last, states };
    } catch (err) {
      if (err instanceof assert.AssertionError) throw err;
      lastError = err;
    }
    if (Date.now() > deadline) {
      const seen = last ? JSON.stringify({ state: last.state, delivery: last.delivery, rounds: last.deliveryRounds }) : 'no answer';
      throw new Error(`${workflowId} did not reach "${what}" within ${timeoutMs} ms (last: ${seen}${lastError ? `; ${String(lastError)}` : ''})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const inState =
  (...states: PostState[]) =>
  (s: PostStatus): boolean =>
    states.includes(s.state);

/** Polls Temporal visibility (eventually consistent) until `query` lists exactly this workflow. */
export async function waitUntilListed(client: Client, workflowId: string, query: string, timeoutMs = 20_000): Promise<void> {
  const full = `WorkflowId = '${workflowId.replace(/'/g, "\\'")}' AND ${query}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found: string[] = [];
    for await (const w of client.workflow.list({ query: full })) found.push(w.workflowId);
    if (found.includes(workflowId)) return;
    if (Date.now() > deadline) throw new Error(`visibility did not list ${workflowId} for ${query} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface LedgerRow {
  recipient: string;
  batch: number;
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  lastCode: number | null;
  lastResponse: string | null;
}

/** The delivery ledger of one post, by recipient. */
export async function ledger(db: Queryable, workflowId: string): Promise<LedgerRow[]> {
  const { rows } = await db.query<{ recipient: string; batch: number; status: LedgerRow['status']; attempts: number; last_code: number | null; last_response: string | null }>(
    'SELECT recipient, batch, status, attempts, last_code, last_response FROM deliveries WHERE workflow_id = $1 ORDER BY recipient',
    [workflowId],
  );
  return rows.map((r) => ({ recipient: r.recipient, batch: r.batch, status: r.status, attempts: r.attempts, lastCode: r.last_code, lastResponse: r.last_response }));
}

export interface BounceEvent {
  recipient: string | null;
  source: string;
  code: number | null;
  reason: string | null;
}

/** Bounce events a post's delivery left for bounce processing. */
export async function bounceEvents(db: Queryable, workflowId: string): Promise<BounceEvent[]> {
  const { rows } = await db.query<BounceEvent>('SELECT recipient, source, code, reason FROM bounce_events WHERE workflow_id = $1 ORDER BY id', [workflowId]);
  return rows;
}

/** Addresses unique to one test, so tests sharing an SMTP recorder never see each other's mail. */
export function addresses(count: number, tag: string): string[] {
  return Array.from({ length: count }, (_, i) => `m${String(i + 1).padStart(2, '0')}-${tag}@members.example`);
}

/** How many copies each address received, from the recorder's accepted (message, recipient) pairs. */
export function copiesPerAddress(deliveredTo: string[], wanted: string[]): Map<string, number> {
  const counts = new Map(wanted.map((a) => [a.toLowerCase(), 0]));
  for (const a of deliveredTo) if (counts.has(a)) counts.set(a, (counts.get(a) ?? 0) + 1);
  return counts;
}
