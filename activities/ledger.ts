// Group commit for the delivery ledger: SMTP outcomes from concurrent lanes are written in one transaction.
import { classifySmtpRefusal } from '../mail/bounce-classify.js';
import { release, type Db } from '../store/db.js';
import { markInBatch, noteDeferred, recordBounceEvent } from '../store/deliveries.js';
import type { Outcome } from './smtp.js';

/** Where an outcome belongs: the post, its batch, and the list (for bounce events). */
export interface BatchRef {
  workflowId: string;
  batch: number;
  listId: number | null;
}

interface Waiting {
  ref: BatchRef;
  outcome: Outcome;
  resolve(): void;
  reject(err: Error): void;
}

interface Group {
  ref: BatchRef;
  code: number | null;
  response: string;
  recipients: string[];
}

/** Groups recipients by post, batch and SMTP answer, so each group is one UPDATE. */
function grouped(items: Waiting[], pick: (o: Outcome) => { recipient: string; code: number | null; response: string }[]): Group[] {
  const groups = new Map<string, Group>();
  for (const item of items) {
    for (const e of pick(item.outcome)) {
      const key = `${item.ref.workflowId}\u0000${item.ref.batch}\u0000${e.code}\u0000${e.response}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { ref: item.ref, code: e.code, response: e.response, recipients: [] }));
      g.recipients.push(e.recipient);
    }
  }
  return [...groups.values()];
}

const SENT = (o: Outcome) => o.sent.map((recipient) => ({ recipient, code: 250, response: '' }));

async function write(db: Db, items: Waiting[]): Promise<void> {
  const client = await db.connect();
  let failure: unknown;
  try {
    // Synchronous commit: COMMIT returns once the marks are on disk, so they survive a crash of listflow and
    // of PostgreSQL or the whole host (kill -9 of everything), and a retried batch skips every recipient whose
    // transaction was recorded. The fsync is shared: every lane's outcomes that arrive while one write runs go
    // into the next one (group commit), so the cost is one flush per write, not one per SMTP transaction.
    await client.query('BEGIN');
    for (const g of grouped(items, SENT)) await markInBatch(client, g.ref.workflowId, g.ref.batch, g.recipients, 'sent', 250, null);
    for (const g of grouped(items, (o) => o.failed)) {
      await markInBatch(client, g.ref.workflowId, g.ref.batch, g.recipients, 'failed', g.code, g.response);
    }
    for (const { ref, outcome } of items) {
      for (const f of outcome.failed) {
        const c = classifySmtpRefusal(f.recipient, f.code, f.response);
        await recordBounceEvent(client, {
          listId: ref.listId,
          recipient: f.recipient,
          source: 'delivery',
          workflowId: ref.workflowId,
          code: f.code,
          reason: f.response,
          classification: c.classification,
          method: 'smtp',
          status: c.status,
        });
      }
    }
    for (const g of grouped(items, (o) => o.deferred)) await noteDeferred(client, g.ref.workflowId, g.ref.batch, g.recipients, g.code, g.response);
    await client.query('COMMIT');
  } catch (err) {
    failure = err;
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    release(client, failure);
  }
}

export interface LedgerWriter {
  /** Resolves once this SMTP outcome is committed to the ledger (together with whatever else was waiting). */
  record(ref: BatchRef, outcome: Outcome): Promise<void>;
}

/**
 * One transaction in flight at a time; outcomes that arrive meanwhile wait and go into the next one, so
 * the batch grows with the load. A lane that awaits record() before its next SMTP transaction keeps the
 * contract: at most its one transaction in flight is unrecorded.
 */
export function createLedgerWriter(db: Db): LedgerWriter {
  let queue: Waiting[] = [];
  let writing = false;
  const flush = (): void => {
    if (writing || queue.length === 0) return;
    writing = true;
    const items = queue;
    queue = [];
    void write(db, items)
      .then(
        () => items.forEach((i) => i.resolve()),
        // One outcome the database refuses (say, a bounce event for a list deleted meanwhile) must not fail
        // the others that shared its transaction: each is written again on its own.
        async (err: Error) => {
          if (items.length === 1) return items[0]?.reject(err);
          for (const item of items) await write(db, [item]).then(item.resolve, item.reject);
        },
      )
      .finally(() => {
        writing = false;
        flush();
      });
  };
  return {
    record(ref, outcome) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ ref, outcome, resolve, reject });
        flush();
      });
    },
  };
}
