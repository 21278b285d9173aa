// `npm run bench [-- fan-out|ingest|latency …]`: a fresh database and Temporal dev server, the scenarios, their figures.
import os from 'node:os';
import type { BenchContext } from './context.js';
import { bounceStorm } from './bounce-storm.js';
import { bounces } from './bounces.js';
import { stopAll } from './children.js';
import { loadNote } from './cpu.js';
import { fanOut } from './fanout.js';
import { ingest } from './ingest.js';
import { latency } from './latency.js';
import { pruneBench } from './prune.js';
import { findPostfixTool } from './postfix.js';
import { ADMIN_URL, createBenchDatabase, startTemporal, type BenchDatabase } from './services.js';

const SCENARIOS: Record<string, (ctx: BenchContext) => Promise<void>> = {
  'fan-out': fanOut,
  ingest,
  latency,
  bounces,
  'bounce-storm': bounceStorm,
  prune: pruneBench,
};

/** Scenarios that need neither Temporal nor PostgreSQL: run alone, they start neither. */
const OFFLINE = new Set(['bounces']);
/** Scenarios left out of a plain `npm run bench` (minutes each). */
const ON_REQUEST = new Set(['bounce-storm', 'prune']);

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

async function main(): Promise<number> {
  const names = process.argv.slice(2);
  for (const n of names) {
    if (!SCENARIOS[n]) {
      console.error(`bench: unknown scenario "${n}" (known: ${Object.keys(SCENARIOS).join(', ')})`);
      return 2;
    }
  }
  // The bounce storm takes minutes and needs bounce processing: run only when named.
  const chosen = names.length > 0 ? names : Object.keys(SCENARIOS).filter((n) => !ON_REQUEST.has(n));
  if (chosen.every((n) => OFFLINE.has(n))) {
    for (const name of chosen) await (SCENARIOS[name] as () => Promise<void>)();
    return 0;
  }
  const log = (line: string) => console.error(`# ${line}`);
  console.log(`listflow benchmark — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
  console.log(`PostgreSQL ${redact(ADMIN_URL)} (BENCH_DATABASE_URL); scenarios: ${chosen.join(', ')}`);
  console.log(`at start: ${loadNote()}`);
  const started = performance.now();
  const temporal = await startTemporal(log);
  let database: BenchDatabase | undefined;
  // Interrupted: stop every process the bench started, by PID, drop the database, and leave.
  let interrupted = false;
  const interrupt = (signal: string) => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping what the bench started…`);
    // The scenario still running loses its connections under it; its errors no longer matter.
    process.on('uncaughtException', (err) => log(`while stopping: ${err.message}`));
    process.on('unhandledRejection', (err) => log(`while stopping: ${(err as Error).message}`));
    void stopAll(15_000)
      .then(() => database?.drop())
      .then(() => temporal.stop())
      .catch((err: Error) => log(`while stopping: ${err.message}`))
      .finally(() => process.exit(130));
  };
  process.on('SIGINT', () => interrupt('SIGINT'));
  process.on('SIGTERM', () => interrupt('SIGTERM'));
  try {
    database = await createBenchDatabase();
    log(`Temporal dev server on ${temporal.address}; database ${new URL(database.url).pathname.slice(1)}`);
    const ctx: BenchContext = {
      db: database.db,
      databaseUrl: database.url,
      temporal,
      smtpSink: findPostfixTool('smtp-sink'),
      smtpSource: findPostfixTool('smtp-source'),
      log,
    };
    for (const name of chosen) await (SCENARIOS[name] as (c: BenchContext) => Promise<void>)(ctx);
  } finally {
    await database?.drop().catch((err: Error) => log(`could not drop the bench database: ${err.message}`));
    await temporal.stop();
  }
  console.log(`\nat end: ${loadNote()}`);
  console.log(`\nReproduce: npm run bench${names.length ? ` -- ${names.join(' ')}` : ''}   (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`bench: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
