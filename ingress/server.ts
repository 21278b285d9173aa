// SMTP/LMTP ingress: accepts mail for list addresses only, stores it, starts its workflows, and only then answers 250.
import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { SMTPServer, SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import type { ListRecipient } from '../mail/address.js';
import type { Db } from '../store/db.js';
import { markStarted, putMessage, recordInbound } from '../store/messages.js';
import { bounceTaskQueueOf, initialAttributes, type InboundMail, type MailKind } from '../workflows/messages.js';
import { workflowIdFor } from '../mail/ids.js';
import { ListDirectory } from './directory.js';
import { canonicalEnvelopeAddress } from './envelope-address.js';
import { DEFAULT_INGRESS_LIMITS, MAX_LINE_OCTETS, type IngressLimits } from './limits.js';
import { MessageCheck, type MessageProblem } from './message-check.js';
import { GuardedSMTPServer } from './sessions.js';

export interface IngressOptions {
  db: Db;
  client: Client;
  taskQueue: string;
  deliveryTaskQueue: string;
  parallelBatches: number;
  maxMessageBytes: number;
  lmtp: boolean;
  hostname: string;
  /** One line per event (refusals, cut-offs, every 4xx and why); never a message body. */
  log?: (line: string) => void;
  /** Limits against hostile clients; each one left out takes its default (DEFAULT_INGRESS_LIMITS). */
  limits?: Partial<IngressLimits>;
  /** A certificate and key (PEM) to offer STARTTLS with; without them STARTTLS is neither offered nor accepted. */
  tls?: { cert: string | Buffer; key: string | Buffer };
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

export function createIngress(options: IngressOptions): SMTPServer {
  const directory = new ListDirectory(options.db);
  const log = options.log ?? (() => {});
  const limits: IngressLimits = { ...DEFAULT_INGRESS_LIMITS, ...options.limits };

  async function startAll(targets: Target[], raw: Buffer, session: SMTPServerSession): Promise<Map<string, Error | null>> {
    const sha256 = await putMessage(options.db, raw);
    const envelopeFrom = session.envelope.mailFrom ? canonicalEnvelopeAddress(session.envelope.mailFrom.address) : '';
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
    for (const id of started) log(`${server.stateOf(session).who}: started ${id}`);
    return results;
  }

  const targetsOf = new WeakMap<SMTPServerSession, Target[]>();

  const server: GuardedSMTPServer = new GuardedSMTPServer(
    {
      name: options.hostname,
      banner: 'listflow',
      lmtp: options.lmtp,
      size: options.maxMessageBytes,
      rejectOversized: true,
      authOptional: true,
      // listflow uses the client's address and HELO name, never its PTR name: no DNS lookup per connection.
      disableReverseLookup: true,
      // Without a certificate of our own there is no STARTTLS at all: smtp-server's built-in one has a public key.
      disabledCommands: options.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
      ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),
      logger: false,
      onMailFrom(_address, session, callback) {
        // A new transaction on the same connection starts with no recipients.
        targetsOf.delete(session);
        callback();
      },
      onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, callback: (err?: Error | null) => void) {
        const state = server.stateOf(session);
        // Both checked before any lookup: a dictionary attack costs at most maxUnknownRecipients lookups a session.
        if (state.unknownRecipients >= limits.maxUnknownRecipients) {
          log(`${state.who}: closing the session: more than ${limits.maxUnknownRecipients} unknown recipients`);
          callback(smtpError(421, '4.7.0 too many unknown recipients, closing'));
          return;
        }
        if (session.envelope.rcptTo.length >= limits.maxRecipients) {
          callback(smtpError(452, `4.5.3 too many recipients (at most ${limits.maxRecipients} in one transaction), send the rest in another`));
          return;
        }
        const rcpt = canonicalEnvelopeAddress(address.address);
        directory.resolve(rcpt).then(
          (recipient) => {
            if (!recipient) {
              state.unknownRecipients++;
              callback(smtpError(550, `5.1.1 <${address.address}>: no such list here (this server is not a relay)`));
              return;
            }
            const list = targetsOf.get(session) ?? [];
            list.push({ rcpt, recipient, kind: kindOf(recipient), workflowId: '' });
            targetsOf.set(session, list);
            callback();
          },
          (err: Error) => {
            log(`${state.who}: 451 at RCPT: the list directory could not be read: ${err.message}`);
            callback(smtpError(451, '4.3.0 list directory unavailable, try again later'));
          },
        );
      },
      onData(stream, session, callback) {
        const state = server.stateOf(session);
        const timer = state.beginData();
        const check = new MessageCheck({ maxBytes: options.maxMessageBytes, onBytes: (n) => timer.progress(n) });
        // Only a message that passes every check so far is kept; once one fails, the rest is counted and dropped.
        let chunks: Buffer[] = [];
        check.on('data', (c: Buffer) => chunks.push(c));
        check.once('refused', () => {
          chunks = [];
        });
        stream.once('error', (err) => {
          timer.done();
          check.destroy();
          log(`${state.who}: message not received in full: ${err.message}`);
          callback(smtpError(451, `4.3.0 ${err.message}`));
        });
        stream.pipe(check);
        check.once('end', () => {
          timer.done();
          const targets = targetsOf.get(session) ?? [];
          targetsOf.delete(session);
          if (check.problem) {
            const refusal = REFUSALS[check.problem];
            log(`${state.who}: refused a message of ${check.bytes} bytes: ${refusal.why(options.maxMessageBytes)}`);
            // For 'size', rejectOversized answers 552 whatever the callback says.
            callback(smtpError(refusal.code, refusal.reply(options.maxMessageBytes)));
            return;
          }
          const raw = Buffer.concat(chunks);
          chunks = [];
          startAll(targets, raw, session).then(
            (results) => {
              const reply = (t: Target): string | Error => {
                const err = results.get(t.workflowId);
                return err ? smtpError(451, '4.3.0 could not queue the message, try again later') : `2.0.0 queued as ${t.workflowId}`;
              };
              for (const t of targets) {
                const err = results.get(t.workflowId);
                if (err) log(`${state.who}: 451 for <${t.rcpt}>: the workflow ${t.workflowId} could not be started: ${err.message}`);
              }
              if (options.lmtp) {
                callback(null, session.envelope.rcptTo.map((_, i) => reply(targets[i] as Target)));
                return;
              }
              const failed = targets.find((t) => results.get(t.workflowId));
              if (failed) callback(reply(failed) as Error);
              else callback(null, targets.length === 1 ? `2.0.0 queued as ${targets[0]?.workflowId}` : `2.0.0 queued for ${targets.length} recipients`);
            },
            (err: Error) => {
              log(`${state.who}: 451 after DATA: the message could not be stored: ${err.message}`);
              const error = smtpError(451, '4.3.0 could not store the message, try again later');
              callback(options.lmtp ? null : error, options.lmtp ? session.envelope.rcptTo.map(() => error) : undefined);
            },
          );
        });
      },
    },
    limits,
    log,
  );
  return server;
}

/** What ingress answers, and logs, for a message a streaming check refused. */
const REFUSALS: Record<MessageProblem, { code: number; reply: (max: number) => string; why: (max: number) => string }> = {
  size: { code: 552, reply: () => '5.3.4 message too big', why: (max) => `over the size limit of ${max} bytes` },
  line: {
    code: 550,
    reply: () => `5.6.0 line longer than ${MAX_LINE_OCTETS} octets (RFC 5322 2.1.1); send long lines base64 or quoted-printable encoded`,
    why: () => `a line longer than ${MAX_LINE_OCTETS} octets`,
  },
  'bare-lf': {
    code: 550,
    reply: () => '5.5.2 bare LF in the message: lines must end in CRLF (RFC 5321 2.3.8)',
    why: () => 'a bare LF (not after CR)',
  },
  'bare-cr': {
    code: 550,
    reply: () => '5.5.2 bare CR in the message: lines must end in CRLF (RFC 5321 2.3.8)',
    why: () => 'a bare CR (not before LF)',
  },
};
