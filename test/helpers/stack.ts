// An in-process listflow for tests: ingress on a loopback port, core and delivery workers on their own task
// queues, a fresh database, the shared dev server, and helpers that read like the domain.
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import nodemailer from 'nodemailer';
import type { SMTPServer } from 'smtp-server';
import type { DnsResolver } from '../../activities/dns.js';
import { createSmtpTransport, type SmtpTransport } from '../../activities/smtp.js';
import type { IngressLimits } from '../../ingress/limits.js';
import { createIngress } from '../../ingress/server.js';
import { parseAssignments } from '../../mail/settings.js';
import type { Db } from '../../store/db.js';
import { createList as storeCreateList, updateSettings } from '../../store/lists.js';
import { addMembers, type Role } from '../../store/members.js';
import { createCoreWorkers, createDeliveryWorker } from '../../workers/index.js';
import { statusQuery, type PostState, type PostStatus } from '../../workflows/messages.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { startSmtpRecorder, type SmtpRecorder } from './smtp-recorder.js';
import { connectDevServer, uniqueName } from './temporal.js';

export interface StackOptions {
  /** smtp://host:port of the SMTP server delivery talks to (usually a startSmtpRecorder()). */
  smarthost: string;
  lmtp?: boolean;
  maxMessageBytes?: number;
  /** Leave out the workers (e.g. to run them in a child process). */
  workers?: boolean;
  /** Use this database instead of a fresh PostgreSQL one (e.g. the embedded server, test/helpers/embedded.ts). */
  database?: TestDatabase;
  /** DNS for sender authentication (e.g. createDnsResolver on a startDnsServer()); without it posts are not verified. */
  dns?: DnsResolver;
  /** Ingress limits other than the defaults (e.g. small ones, to test a cut-off quickly). */
  limits?: Partial<IngressLimits>;
  /** Where the ingress's log lines go. */
  log?: (line: string) => void;
  /** A certificate for STARTTLS. */
  tls?: { cert: string; key: string };
}

export interface Stack {
  db: Db;
  database: TestDatabase;
  client: Client;
  smtpPort: number;
  taskQueue: string;
  deliveryTaskQueue: string;
  transport: SmtpTransport;
  stopWorkers(): Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const database = options.database ?? (await createTestDatabase());
  const temporal = await connectDevServer();
  const taskQueue = uniqueName('core');
  const deliveryTaskQueue = uniqueName('delivery');
  const transport = createSmtpTransport(options.smarthost, 4, 'listflow.test');
  const deps = { db: database.db, transport, publicUrl: 'http://127.0.0.1:8025', hostname: 'listflow.test', ...(options.dns ? { dns: options.dns } : {}) };
  const workerOptions = { connection: temporal.native, namespace: 'default', taskQueue, deliveryTaskQueue, deps, smtpConnections: 4, shutdownGraceTime: '1s' };
  const workers: Worker[] = [];
  if (options.workers !== false) {
    workers.push(...(await createCoreWorkers(workerOptions)), await createDeliveryWorker(workerOptions));
  }
  const runs = workers.map((w) => w.run());
  const ingress: SMTPServer = createIngress({
    db: database.db,
    client: temporal.client,
    taskQueue,
    deliveryTaskQueue,
    parallelBatches: 4,
    maxMessageBytes: options.maxMessageBytes ?? 10 * 1024 * 1024,
    lmtp: options.lmtp ?? false,
    hostname: 'listflow.test',
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.log ? { log: options.log } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
  });
  await new Promise<void>((resolve) => ingress.listen(0, '127.0.0.1', () => resolve()));
  const smtpPort = (ingress.server.address() as { port: number }).port;
  const stopWorkers = async () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await Promise.allSettled(runs);
  };
  return {
    db: database.db,
    database,
    client: temporal.client,
    smtpPort,
    taskQueue,
    deliveryTaskQueue,
    transport,
    stopWorkers,
    async stop() {
      await new Promise<void>((resolve) => ingress.close(() => resolve()));
      await stopWorkers();
      transport.close();
      await temporal.close();
      if (!options.database) await database.drop();
    },
  };
}

/** A list with a unique address, settings given as the CLI would take them (`key=value`). */
export async function createList(db: Db, settings: string[] = [], prefix = 'dev'): Promise<string> {
  const address = `${uniqueName(prefix)}@lists.example`;
  await storeCreateList(db, address);
  // In order, each seeing the ones before, so two `key+=item` both count; a bad one fails the test at once.
  const { changes, problems } = parseAssignments(settings);
  if (problems.length) throw new Error(problems.join('; '));
  await updateSettings(db, address, changes);
  return address;
}

export async function subscribe(db: Db, list: string, addresses: string[], role: Role = 'member'): Promise<void> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM lists WHERE address = $1', [list]);
  if (!rows[0]) throw new Error(`no list ${list}`);
  await addMembers(db, Number(rows[0].id), addresses, role);
}

export interface PostOptions {
  from: string;
  to: string | string[];
  subject?: string;
  text?: string;
  headers?: Record<string, string>;
  envelopeFrom?: string;
}

/** Builds a message with a unique Message-ID (so the bytes differ) and sends it over real SMTP. */
export async function post(smtpPort: number, o: PostOptions): Promise<{ response: string; raw: Buffer }> {
  const to = Array.isArray(o.to) ? o.to : [o.to];
  const mail = {
    from: o.from,
    to,
    subject: o.subject ?? 'a post',
    text: o.text ?? 'Hello list.\n',
    messageId: `<${randomBytes(8).toString('hex')}@sender.example>`,
    headers: o.headers,
  };
  const raw = await new Promise<Buffer>((resolve, reject) => {
    nodemailer.createTransport({ streamTransport: true, buffer: true }).sendMail(mail, (err, info) => {
      if (err) reject(err);
      else resolve((info as unknown as { message: Buffer }).message);
    });
  });
  const response = await sendRaw(smtpPort, o.envelopeFrom ?? o.from, to, raw);
  return { response, raw };
}

/** Sends raw bytes over SMTP; resolves with the server's final reply, rejects with its error. */
export async function sendRaw(smtpPort: number, from: string, to: string[], raw: Buffer, lmtp = false): Promise<string> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true, lmtp });
  try {
    const info = await transport.sendMail({ envelope: { from, to }, raw });
    return info.response;
  } finally {
    transport.close();
  }
}

/** Polls the status query until the post is in one of `states`. */
export async function waitForState(client: Client, workflowId: string, states: PostState[], timeoutMs = 30_000): Promise<PostStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: PostStatus | undefined;
  for (;;) {
    try {
      last = await client.workflow.getHandle(workflowId).query(statusQuery);
      if (states.includes(last.state)) return last;
    } catch {
      // not started yet, or no worker has picked it up: keep polling
    }
    if (Date.now() > deadline) throw new Error(`${workflowId} did not reach ${states.join('/')} within ${timeoutMs} ms (last: ${last?.state ?? 'unknown'})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The workflow ID ingress reported in its 250 reply ("queued as <id>"). */
export function queuedId(response: string): string {
  const m = /queued as (\S+)/.exec(response);
  if (!m?.[1]) throw new Error(`no workflow ID in the reply: ${response}`);
  return m[1];
}

/**
 * For a describe(): a recording smarthost and a stack delivering to it, started before its tests and
 * stopped after them. Read `env.stack` and `env.recorder` inside the tests.
 */
export function useStack(options: Omit<StackOptions, 'smarthost'> = {}): { readonly stack: Stack; readonly recorder: SmtpRecorder } {
  let stack: Stack | undefined;
  let recorder: SmtpRecorder | undefined;
  before(async () => {
    recorder = await startSmtpRecorder();
    stack = await startStack({ ...options, smarthost: recorder.url });
  });
  after(async () => {
    await stack?.stop();
    await recorder?.close();
  });
  return {
    get stack() {
      if (!stack) throw new Error('the stack is not started yet (use env.stack inside tests)');
      return stack;
    },
    get recorder() {
      if (!recorder) throw new Error('the recorder is not started yet (use env.recorder inside tests)');
      return recorder;
    },
  };
}
