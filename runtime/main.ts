#!/usr/bin/env node
// `npm start`: every role on one host, with embedded defaults for whatever the environment does not name.
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { ConfigError, loadConfig } from './config.js';
import { childrenOf } from './processes.js';
import { serve } from './serve.js';

/**
 * Under `npm start`, npm runs us through `sh -c`, and a SIGTERM sent to npm's process ends npm and the shell
 * without passing it on (npm 11): we would go on alone, holding the ports and the data dir. So when npm
 * started us and our parent goes away, we stop as on SIGTERM. Run directly (`node dist/runtime/main.js`,
 * nohup, a service manager), the parent is left alone: it may end by design.
 */
function watchNpm(stop: (why: string) => void): void {
  if (!process.env.npm_lifecycle_event) return;
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop('npm went away');
  }, 1000).unref();
}

/**
 * The most a stop may take: workers get 30 s to finish in-flight SMTP batches, the embedded PostgreSQL 20 s,
 * the dev server its own few seconds. Past this (a call that never returns, a worker that will not stop),
 * listflow kills what it started and exits 1 rather than hang on.
 */
const STOP_BOUND_MS = 1000 * Number(process.env.LISTFLOW_STOP_TIMEOUT_SECONDS || 90);

async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`listflow: ${err.message}`);
      return 2;
    }
    throw err;
  }
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const log = (line: string) => console.log(`listflow: ${line}`);
  log(`starting roles ${config.roles.join(', ')} with data in ${config.dataDir}`);
  // Signals are caught from the first moment: a Ctrl-C during start-up still stops what has started.
  let signalled: string | null = null;
  let running: Awaited<ReturnType<typeof serve>> | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    signalled = signal;
    if (!running || stopping) return;
    stopping = true;
    log(`${signal}: stopping (in-flight deliveries may take up to 30s to finish; ${STOP_BOUND_MS / 1000}s at most)…`);
    setTimeout(() => {
      console.error(`listflow: not stopped within ${STOP_BOUND_MS / 1000}s; ending what it started and exiting`);
      for (const { pid } of childrenOf(process.pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      process.exit(1);
    }, STOP_BOUND_MS).unref();
    running.stop().then(
      () => {
        log('stopped');
        process.exit(0);
      },
      (err: Error) => {
        console.error(`listflow: ${err.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  watchNpm(stop);
  try {
    running = await serve(config, log);
  } catch (err) {
    console.error(`listflow: cannot start: ${(err as Error).message}`);
    return 1;
  }
  if (signalled) {
    stop(signalled);
    return new Promise<number>(() => {});
  }
  const smtp = running.smtp ?? '(ingress not on this host)';
  console.log(
    [
      '',
      'listflow is running.',
      `  SMTP ingress     ${smtp}${config.lmtp ? ' (LMTP)' : ''}`,
      `  web API          ${running.web ?? '(web not on this host)'}`,
      `  Temporal         ${running.temporalAddress}${running.temporalUi ? `   Web UI ${running.temporalUi}` : ''}`,
      `  database         ${config.databaseUrl ? 'DATABASE_URL' : `embedded PostgreSQL (${config.postgresListen.host}:${config.postgresListen.port}, data in ${config.dataDir}/postgres)`}`,
      `  outbound mail    ${running.outboxDir ? `embedded outbox, kept in ${running.outboxDir}` : (running.smarthost ?? '(delivery not on this host)')}`,
      '',
      'Next, in another terminal:',
      '  npx listflow lists create dev@example.org --owner you@example.org',
      '  npx listflow members add dev@example.org alice@example.org bob@example.org',
      `  swaks --server ${smtp} --from alice@example.org --to dev@example.org --header "Subject: hello"`,
      '  npx listflow held',
      "  temporal workflow query --workflow-id 'post/dev@example.org/<key>' --type status",
      '',
      'Ctrl-C stops everything.',
    ].join('\n'),
  );
  const r = running;
  await r.done.catch(async (err: Error) => {
    console.error(`listflow: a worker failed: ${err.message}`);
    await r.stop();
    process.exit(1);
  });
  return 0;
}

main().then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (err: Error) => {
    console.error(`listflow: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
