// Runs the roles this host was given, starting the embedded services the configuration leaves to listflow.
import path from 'node:path';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { SMTPServer } from 'smtp-server';
import type { ActivityDeps } from '../activities/deps.js';
import { createDnsResolver } from '../activities/dns.js';
import { createSmtpTransport, type SmtpTransport } from '../activities/smtp.js';
import { createIngress } from '../ingress/server.js';
import { createPool, type Db } from '../store/db.js';
import { ingressCertificate } from '../ingress/tls.js';

import { createWebServer } from '../web/server.js';
import { createCoreWorkers, createDeliveryWorker, workflowBundle } from '../workers/index.js';
import { databaseUrlOf, type Config, type Role } from './config.js';
import { openDatabase, startEmbeddedPostgres } from './database.js';
import { lockDataDir } from './lock.js';
import { wakeOwedMemberNotices } from './member-notices.js';
import { startOutbox } from './outbox.js';
import { describeListenError } from './ports.js';
import { ensurePruneWorkflow } from './prune.js';
import { connectTemporal, prepareNamespace, startDevServer } from './temporal.js';

export interface Running {
  smtp: string | null;
  web: string | null;
  temporalAddress: string;
  temporalUi: string | null;
  smarthost: string | null;
  outboxDir: string | null;
  databaseUrl: string;
  /** Resolves when every worker has stopped (after stop(), or if one fails). */
  done: Promise<void>;
  stop(): Promise<void>;
}

/** Starts everything; on any failure, stops what was started and rethrows. */
export async function serve(config: Config, log: (line: string) => void): Promise<Running> {
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      await fn().catch((err: Error) => log(`while stopping: ${err.message}`));
    }
  };
  try {
    if (!config.databaseUrl || !config.temporalAddress || !config.smarthost) {
      const release = lockDataDir(config.dataDir);
      cleanups.push(async () => release());
    }
    const roles = new Set(config.roles);
    // The workflow bundle (seconds of webpack, in a thread of its own), the embedded PostgreSQL and the dev
    // server do not depend on one another: they start together. Whichever started is stopped on a failure.
    const bundling = roles.has('core') ? workflowBundle() : Promise.resolve(undefined);
    bundling.catch(() => {});
    const [pg, dev] = await Promise.allSettled([
      config.databaseUrl ? Promise.resolve(undefined) : startEmbeddedPostgres(config, log),
      config.temporalAddress ? Promise.resolve(undefined) : startDevServer(config, log),
    ]);
    if (pg.status === 'fulfilled' && pg.value) {
      const embedded = pg.value;
      cleanups.push(() => embedded.stop());
      log('embedded database ready');
    }
    if (dev.status === 'fulfilled' && dev.value) {
      const server = dev.value;
      cleanups.push(() => server.stop());
      log('Temporal dev server ready');
    }
    if (pg.status === 'rejected') throw pg.reason;
    if (dev.status === 'rejected') throw dev.reason;
    const databaseUrl = pg.value?.url ?? config.databaseUrl ?? '';
    const temporalAddress = dev.value?.address ?? config.temporalAddress ?? '';
    const temporalUi = dev.value?.uiUrl ?? null;

    // The schema is brought up to date once; then each role gets a pool of its own, so a burst on one
    // (a storm of SMTP clients, a fan-out) cannot take the connections another needs.
    await (await openDatabase(config, 1)).end();
    const pools = {} as Record<Role, Db>;
    for (const role of roles) {
      const pool = createPool(databaseUrlOf(config), config.dbPools[role]);
      pools[role] = pool;
      cleanups.push(() => pool.end());
    }

    const { connection, client } = await connectTemporal(temporalAddress, config.namespace);
    cleanups.push(() => connection.close());
    await prepareNamespace(connection, config.namespace);

    let smarthost: string | null = config.smarthost ?? null;
    let outboxDir: string | null = null;
    let transport: SmtpTransport | undefined;
    if (roles.has('delivery')) {
      if (!smarthost) {
        const outbox = await startOutbox(config.outboxListen, path.join(config.dataDir, 'outbox'), config.hostname);
        cleanups.push(() => outbox.stop());
        smarthost = outbox.url;
        outboxDir = outbox.dir;
      }
      transport = createSmtpTransport(smarthost, config.smtpConnections, config.hostname);
      const t = transport;
      cleanups.push(async () => t.close());
    }

    const deps: Omit<ActivityDeps, 'db'> = {
      transport,
      publicUrl: config.publicUrl,
      hostname: config.hostname,
      dns: createDnsResolver({ servers: config.dnsServers }),
    };
    const workers: Worker[] = [];
    if (roles.has('core') || roles.has('delivery')) {
      const native = await NativeConnection.connect({ address: temporalAddress });
      cleanups.push(() => native.close());
      const options = {
        connection: native,
        namespace: config.namespace,
        taskQueue: config.taskQueue,
        deliveryTaskQueue: config.deliveryTaskQueue,
        smtpConnections: config.smtpConnections,
      };
      if (roles.has('core')) workers.push(...(await createCoreWorkers({ ...options, deps: { ...deps, db: pools.core } })));
      if (roles.has('delivery')) workers.push(await createDeliveryWorker({ ...options, deps: { ...deps, db: pools.delivery } }));
    }
    if (workers.length) log('workers ready');
    if (roles.has('core')) {
      // Welcomes and goodbyes owed by a `members add|remove` that could not reach Temporal go out now.
      const owed = await wakeOwedMemberNotices(pools.core, client, { taskQueue: config.taskQueue, deliveryTaskQueue: config.deliveryTaskQueue }).catch((err: Error) => {
        log(`owed welcome/goodbye messages not sent yet: ${err.message}`);
        return [];
      });
      if (owed.length) log(`sending owed welcome/goodbye messages for ${owed.join(', ')}`);
      // Retention: prune/site runs on its own durable timer; starting it again is a no-op while it runs.
      await ensurePruneWorkflow(client, config.taskQueue).catch((err: Error) => log(`prune workflow not started: ${err.message}`));
    }
    const runs = workers.map((w) => w.run());
    cleanups.push(async () => {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.allSettled(runs);
    });

    let web: string | null = null;
    if (roles.has('web')) {
      const server = createWebServer({
        db: pools.web,
        client,
        publicUrl: config.publicUrl,
        hostname: config.hostname,
        taskQueue: config.taskQueue,
        deliveryTaskQueue: config.deliveryTaskQueue,
      });
      const { host, port } = config.httpListen;
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err) => reject(describeListenError(err as NodeJS.ErrnoException, host, port, 'the web API', 'LISTFLOW_HTTP_LISTEN')));
        server.listen(port, host, () => resolve());
      });
      cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      web = `http://${host.includes(':') ? `[${host}]` : host}:${(server.address() as { port: number }).port}`;
    }

    let smtp: string | null = null;
    if (roles.has('ingress')) {
      const server: SMTPServer = createIngress({
        db: pools.ingress,
        client,
        taskQueue: config.taskQueue,
        deliveryTaskQueue: config.deliveryTaskQueue,
        // Twice the default pool of SMTP connections, so that while a batch's result travels through Temporal
        // (activity done → workflow task → next batch scheduled, tens of milliseconds) another batch is already
        // waiting for the connection it frees. Bulk to 100,000 members, four interleaved runs each:
        // 8 → 19,900–24,600 recipients/s, 16 → 26,500–31,200 (npm run bench).
        parallelBatches: 16,
        maxMessageBytes: config.maxMessageBytes,
        lmtp: config.lmtp,
        hostname: config.hostname,
        limits: config.ingressLimits,
        tls: await ingressCertificate(config.ingressTls, config.dataDir, config.hostname, log),
        log: (line) => log(`ingress: ${line}`),
      });
      const { host, port } = config.smtpListen;
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err) => reject(describeListenError(err as NodeJS.ErrnoException, host, port, 'the SMTP ingress', 'LISTFLOW_SMTP_LISTEN')));
        server.listen(port, host, () => resolve());
      });
      // Registered last, so it closes first: no new mail is accepted while workers drain.
      cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      const addr = server.server.address();
      smtp = `${host}:${typeof addr === 'object' && addr ? addr.port : port}`;
    }

    return {
      smtp,
      web,
      temporalAddress,
      temporalUi,
      smarthost,
      outboxDir,
      databaseUrl,
      done: Promise.all(runs).then(() => undefined),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
