// Delivery activities: one batch of a post's recipients over SMTP, recorded in the ledger as it goes.
import { Context } from '@temporalio/activity';
import { listSubAddress } from '../mail/address.js';
import { preparePersonalization, type Personalizer } from '../mail/decoration/personalize.js';
import { oneClickUrl } from '../mail/links.js';
import { siteSecret } from '../store/db.js';
import { countDeliveries, failedInBatch, pendingInBatch, type DeliveryCounts } from '../store/deliveries.js';
import { getList } from '../store/lists.js';
import { getMessage } from '../store/messages.js';
import { bouncerSettings } from './bounces.js';
import { createMessageCache } from './byte-cache.js';
import { feedFailures, queuesOf, refusalsOf } from './bouncer-feed.js';
import { requireTransport, type ActivityDeps } from './deps.js';
import { createLedgerWriter } from './ledger.js';
import { signOutgoing } from './signing.js';
import { sendTransaction, type Outcome, type SmtpTransport } from './smtp.js';

export interface BatchInput {
  workflowId: string;
  list: string;
  batch: number;
  mode: 'bulk' | 'per-recipient';
}

/** Heartbeats while `fn` runs so a dead worker is noticed within the heartbeat timeout, not the batch's length. */
export async function withHeartbeat<T>(fn: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  // No heartbeat at the start: the server times the heartbeat timeout from the activity's start until the
  // first one, and the SDK sends a first heartbeat at once, so one here would cost every short batch an RPC.
  const timer = setInterval(() => ctx.heartbeat(), 2000);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

/** Runs `fn` over items with at most `limit` in flight. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(lanes);
}

/**
 * How many SMTP transactions one delivery worker may have sent and not yet recorded, for every batch it
 * runs together: twice its connections, so each connection has the next transaction ready while the one
 * before waits for its ledger commit. This is the bound on copies sent twice after a crash (DESIGN §2):
 * however many batches run in parallel, no more transactions than this are ever unrecorded.
 */
export function unrecordedBound(connections: number): number {
  return 2 * connections;
}

/** At most `n` holders at once; the others wait in order. */
function permits(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let free = n;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (free > 0) free--;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
}

export function createDeliveryActivities(deps: ActivityDeps, options: { connections: number }) {
  // Bounded in bytes: a few 25 MiB posts delivered at once must not hold hundreds of MiB between batches.
  const cache = createMessageCache();
  const ledger = createLedgerWriter(deps.db);
  const unrecorded = permits(unrecordedBound(options.connections));

  async function decorated(workflowId: string): Promise<Buffer> {
    const { rows } = await deps.db.query<{ decorated_sha256: string }>('SELECT decorated_sha256 FROM posts WHERE workflow_id = $1', [
      workflowId,
    ]);
    const sha = rows[0]?.decorated_sha256;
    if (!sha) throw new Error(`post ${workflowId} has no decorated message yet`);
    let raw = cache.get(sha);
    if (!raw) {
      raw = await getMessage(deps.db, sha);
      cache.set(sha, raw);
    }
    return raw;
  }

  async function postSeq(workflowId: string): Promise<number> {
    const { rows } = await deps.db.query<{ seq: string }>('SELECT seq FROM posts WHERE workflow_id = $1', [workflowId]);
    return Number(rows[0]?.seq ?? 0);
  }

  return {
    /**
     * Delivers the recipients of one batch that are still pending. Each accepted SMTP transaction is
     * recorded before the next begins, so a retry after a crash resends at most the one in flight.
     */
    async deliverBatch(input: BatchInput): Promise<DeliveryCounts> {
      const transport: SmtpTransport = requireTransport(deps);
      return withHeartbeat(async () => {
        const [list, raw, pending] = await Promise.all([
          getList(deps.db, input.list),
          decorated(input.workflowId),
          pendingInBatch(deps.db, input.workflowId, input.batch),
        ]);
        const ref = { workflowId: input.workflowId, batch: input.batch, listId: list?.id ?? null };
        const failed: Outcome['failed'] = [];
        /** One SMTP transaction, recorded before its permit goes to the next. */
        const sendAndRecord = (from: string, to: string[], message: Buffer) =>
          unrecorded(async () => {
            const outcome = await sendTransaction(transport, from, to, message);
            await ledger.record(ref, outcome);
            failed.push(...outcome.failed);
          });
        if (input.mode === 'bulk') {
          const from = listSubAddress(input.list, 'bounces');
          await sendAndRecord(from, pending.map((p) => p.recipient), await signOutgoing(raw, input.list, deps));
        } else {
          // Each member's copy: To, one-click List-Unsubscribe and the footer, prepared once for the batch.
          const secret = await siteSecret(deps.db);
          const seq = await postSeq(input.workflowId);
          let personal: Personalizer | null = null;
          try {
            if (list && list.settings.personalize !== 'none') {
              personal = preparePersonalization(raw, { list: list.address, displayName: list.displayName, settings: list.settings, seq, publicUrl: deps.publicUrl });
            }
          } catch (err) {
            // A message personalization cannot handle still goes out, as the shared copy, rather than never.
            Context.current().log.warn(`no personal copies for ${input.workflowId}: ${(err as Error)?.message ?? String(err)}`);
          }
          await eachLimited(pending, options.connections, async (p) => {
            const from = listSubAddress(input.list, 'bounces', p.verpToken);
            // Signing is the last step: it covers each member's own To, List-Unsubscribe and footer.
            const own = personal ? personal.render({ address: p.recipient, unsubscribeUrl: oneClickUrl(secret, deps.publicUrl, input.list, p.verpToken) }) : raw;
            const message = await signOutgoing(own, input.list, deps);
            await sendAndRecord(from, [p.recipient], message);
          });
        }
        // Refusals (5xx) are bounces: once per batch, to the members' bouncers (policy refusals to the owners' summary).
        // A retried attempt re-reads the batch's failures, in case the one before died between ledger and signals.
        if (list?.settings.process_bounces) {
          const refusals = Context.current().info.attempt > 1 ? await failedInBatch(deps.db, input.workflowId, input.batch) : failed;
          if (refusals.length > 0) {
            // The bouncer need not read what this batch already knows: the settings and each member's VERP token.
            const settings = bouncerSettings(list);
            const tokens = new Map(pending.map((p) => [p.recipient.toLowerCase(), p.verpToken]));
            const contextOf = (address: string) => {
              const verpToken = tokens.get(address.toLowerCase());
              return verpToken ? { settings, member: { address, verpToken, deliveryStatus: 'enabled' } } : undefined;
            };
            await feedFailures(Context.current().client, queuesOf(deps), list.address, input.workflowId, 'delivery', refusalsOf(refusals), contextOf);
          }
        }
        return countDeliveries(deps.db, input.workflowId, input.batch);
      });
    },
  };
}
