// SMTP/LMTP ingress: accepts mail for list addresses only, stores it, starts its workflows, and only then answers 250.
import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';
import { parseListRecipient, type ListRecipient } from '../mail/address.js';
import type { Db } from '../store/db.js';
import { existingLists, listAddresses } from '../store/lists.js';
import { markStarted, putMessage, recordInbound } from '../store/messages.js';
import { bounceTaskQueueOf, initialAttributes, type InboundMail, type MailKind } from '../workflows/messages.js';
import { workflowIdFor } from '../mail/ids.js';

export interface IngressOptions {
  db: Db;
  client: Client;
  taskQueue: string;
  deliveryTaskQueue: string;
  parallelBatches: number;
  maxMessageBytes: number;
  lmtp: boolean;
  hostname: string;
  log?: (line: string) => void;
}

interface Target {
  rcpt: string;
  recipient: ListRecipient;
  kind: MailKind;
  workflowId: string;
}

const WORKFLOW_TYPES: Record<MailKind, string> = {
  post: 'postWorkflow',
  request: 'requestWorkflow',
  owner: 'ownerWorkflow',
  bounce: 'bounceWorkflow',
  confirm: 'confirmWorkflow',
};

/** How long one workflow start may take before the sender is told to retry. */
const START_DEADLINE_MS = 30_000;

function kindOf(r: ListRecipient): MailKind {
  switch (r.kind) {
    case 'post':
      return 'post';
    case 'owner':
      return 'owner';
    case 'bounces':
      return 'bounce';
    case 'confirm':
      return 'confirm';
    default:
      return 'request';
  }
}

/** An error smtp-server answers with the given code (without one it would say 550). */
function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

/** Knows which list addresses exist: a copy of the table re-read every few seconds, and a direct lookup on a miss. */
class ListDirectory {
  private lists = new Set<string>();
  private loadedAt = 0;
  constructor(private readonly db: Db) {}

  async resolve(rcpt: string): Promise<ListRecipient | null> {
    if (Date.now() - this.loadedAt > 5000) await this.reload();
    const found = parseListRecipient(rcpt, (a) => this.lists.has(a));
    if (found) return found;
    // A miss may be a list created since the last reload; a 550 for it would be permanent, so ask the
    // database about the lists this address could belong to before refusing it.
    const candidates: string[] = [];
    parseListRecipient(rcpt, (a) => {
      candidates.push(a);
      return false;
    });
    for (const address of await existingLists(this.db, candidates)) this.lists.add(address);
    return parseListRecipient(rcpt, (a) => this.lists.has(a));
  }

  private async reload(): Promise<void> {
    this.lists = new Set(await listAddresses(this.db));
    this.loadedAt = Date.now();
  }
}

export function createIngress(options: IngressOptions): SMTPServer {
  const directory = new ListDirectory(options.db);
  const log = options.log ?? (() => {});

  async function startAll(targets: Target[], raw: Buffer, session: SMTPServerSession): Promise<Map<string, Error | null>> {
    const sha256 = await putMessage(options.db, raw);
    const envelopeFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    const receivedAt = new Date().toISOString();
    // SPF checks the client's address and HELO name (smtp-server has already turned ::ffff:a.b.c.d into a.b.c.d).
    const client = {
      ...(session.remoteAddress ? { clientIp: session.remoteAddress } : {}),
      ...(session.hostNameAppearsAs ? { helo: String(session.hostNameAppearsAs).slice(0, 255) } : {}),
    };
    for (const t of targets) t.workflowId = workflowIdFor(t.kind, t.recipient.list, sha256, t.recipient.detail);
    const ids = [...new Set(targets.map((t) => t.workflowId as string))];
    const byId = new Map(targets.map((t) => [t.workflowId, t]));
    const alreadyStarted = await recordInbound(
      options.db,
      ids.map((id) => {
        const t = byId.get(id) as Target;
        return { workflowId: id, listAddress: t.recipient.list, kind: t.kind, sha256, envelopeFrom, rcptTo: t.rcpt };
      }),
    );
    const results = new Map<string, Error | null>();
    await Promise.all(
      ids.map(async (id) => {
        if (alreadyStarted.has(id)) {
          results.set(id, null);
          return;
        }
        const t = byId.get(id) as Target;
        const mail: InboundMail = { list: t.recipient.list, sha256, envelopeFrom, rcptTo: t.rcpt, receivedAt, ...(t.recipient.detail ? { detail: t.recipient.detail } : {}), ...client };
        try {
          // A Temporal that hangs must not hold the sender: past the deadline it gets 451 and retries, and the
          // retry finds the workflow if the start did land after all (REJECT_DUPLICATE).
          await options.client.connection.withDeadline(Date.now() + START_DEADLINE_MS, () =>
            options.client.workflow.start(WORKFLOW_TYPES[t.kind], {
              workflowId: id,
              // Bounces have a queue of their own (see workers/index.ts): a storm of them never queues ahead of posts.
              taskQueue: t.kind === 'bounce' ? bounceTaskQueueOf(options.taskQueue) : options.taskQueue,
              args: [mail, { deliveryTaskQueue: options.deliveryTaskQueue, parallelBatches: options.parallelBatches }],
              workflowIdReusePolicy: 'REJECT_DUPLICATE',
              typedSearchAttributes: initialAttributes(t.recipient.list, t.kind, envelopeFrom),
            }),
          );
          results.set(id, null);
        } catch (err) {
          // The same bytes again: the first copy's workflow exists, so this one is already durable.
          if (err instanceof WorkflowExecutionAlreadyStartedError) results.set(id, null);
          else results.set(id, err as Error);
        }
      }),
    );
    const started = ids.filter((id) => results.get(id) === null);
    if (started.length > 0) await markStarted(options.db, started);
    for (const id of ids) {
      const err = results.get(id);
      log(`${err ? 'not started' : 'started'} ${id}${err ? `: ${err.message}` : ''}`);
    }
    return results;
  }

  const targetsOf = new WeakMap<SMTPServerSession, Target[]>();

  return new SMTPServer({
    name: options.hostname,
    banner: 'listflow',
    lmtp: options.lmtp,
    size: options.maxMessageBytes,
    rejectOversized: true,
    authOptional: true,
    // No STARTTLS until a certificate can be configured: smtp-server's built-in one is public.
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onMailFrom(_address, session, callback) {
      // A new transaction on the same connection starts with no recipients.
      targetsOf.delete(session);
      callback();
    },
    onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, callback: (err?: Error | null) => void) {
      directory.resolve(address.address).then(
        (recipient) => {
          if (!recipient) {
            callback(smtpError(550, `5.1.1 <${address.address}>: no such list here (this server is not a relay)`));
            return;
          }
          const list = targetsOf.get(session) ?? [];
          list.push({ rcpt: address.address, recipient, kind: kindOf(recipient), workflowId: '' });
          targetsOf.set(session, list);
          callback();
        },
        () => callback(smtpError(451, '4.3.0 list directory unavailable, try again later')),
      );
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (err) => callback(smtpError(451, `4.3.0 ${err.message}`)));
      stream.on('end', () => {
        const targets = targetsOf.get(session) ?? [];
        targetsOf.delete(session);
        if (stream.sizeExceeded) {
          // rejectOversized answers 552; the callback value is replaced.
          callback(smtpError(552, '5.3.4 message too big'));
          return;
        }
        startAll(targets, Buffer.concat(chunks), session).then(
          (results) => {
            const reply = (t: Target): string | Error => {
              const err = results.get(t.workflowId);
              return err ? smtpError(451, '4.3.0 could not queue the message, try again later') : `2.0.0 queued as ${t.workflowId}`;
            };
            if (options.lmtp) {
              callback(null, session.envelope.rcptTo.map((_, i) => reply(targets[i] as Target)));
              return;
            }
            const failed = targets.find((t) => results.get(t.workflowId));
            if (failed) callback(reply(failed) as Error);
            else callback(null, targets.length === 1 ? `2.0.0 queued as ${targets[0]?.workflowId}` : `2.0.0 queued for ${targets.length} recipients`);
          },
          (err: Error) => {
            log(`could not store a message: ${err.message}`);
            const error = smtpError(451, '4.3.0 could not store the message, try again later');
            callback(options.lmtp ? null : error, options.lmtp ? session.envelope.rcptTo.map(() => error) : undefined);
          },
        );
      });
    },
  });
}
