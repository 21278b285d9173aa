// Scenario ingest: posts per second accepted with a durable 250, with Postfix's smtp-source as the client.
import { envInt, type BenchContext } from './context.js';
import { createBenchList } from './mail.js';
import { INSTALL_HINT, runSource, startSink } from './postfix.js';
import { startHost } from './services.js';
import { num, printTable, verdict } from './table.js';

const TARGET = 100;

async function count(ctx: BenchContext, sql: string, params: unknown[]): Promise<number> {
  const { rows } = await ctx.db.query<{ n: string }>(sql, params);
  return Number(rows[0]?.n ?? 0);
}

export async function ingest(ctx: BenchContext): Promise<void> {
  if (!ctx.smtpSink || !ctx.smtpSource) {
    console.log(`\ningest: skipped, smtp-source or smtp-sink not found (${INSTALL_HINT})`);
    return;
  }
  const posts = envInt('BENCH_INGEST_POSTS', 2000);
  const sessions = envInt('BENCH_INGEST_SESSIONS', 20);
  const list = 'ingest@bench.example';
  const poster = 'poster@bench.example';
  // The poster is the list's one member, so every post is accepted and delivered (one copy into smtp-sink).
  await createBenchList(ctx.db, list, [poster]);
  const sink = await startSink(ctx.smtpSink);
  const host = await startHost({ databaseUrl: ctx.databaseUrl, temporalAddress: ctx.temporal.address, smarthost: sink.url });
  try {
    // smtp-source numbers each message in its Message-Id (<pid.fd.count@host>), so every post's bytes differ.
    const args = ['-s', String(sessions), '-d', '-m', String(posts), '-l', '2048', '-f', poster, '-t', list, '-M', 'bench.example', `127.0.0.1:${host.smtpPort}`];
    ctx.log(`ingest: smtp-source ${args.join(' ')}`);
    const run = await runSource(ctx.smtpSource, args, envInt('BENCH_INGEST_TIMEOUT_S', 300) * 1000);
    const started = await count(ctx, `SELECT count(*) AS n FROM inbound WHERE list_address = $1 AND started_at IS NOT NULL`, [list]);
    if (run.code !== 0) ctx.log(`ingest: smtp-source exited with ${run.code}: ${run.output.trim()}`);
    // Then how long the accepted posts take to be delivered (they were running while ingest went on).
    const drainStart = performance.now();
    const drainDeadline = drainStart + envInt('BENCH_INGEST_DRAIN_TIMEOUT_S', 300) * 1000;
    let delivered = 0;
    while (performance.now() < drainDeadline) {
      delivered = await count(
        ctx,
        `SELECT count(*) AS n FROM deliveries d JOIN inbound i ON i.workflow_id = d.workflow_id
         WHERE i.list_address = $1 AND d.status = 'sent'`,
        [list],
      );
      if (delivered >= started) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const drainSeconds = (performance.now() - drainStart) / 1000;
    const rate = started / run.seconds;
    printTable(
      'ingest: smtp-source → ingress, 2 KB posts, a durable 250 each',
      ['posts sent', 'sessions', 'distinct posts started', 'wall time', 'posts/s', 'target', 'vs target', 'all delivered', 'worker peak RSS'],
      [
        [
          num(posts),
          String(sessions),
          num(started),
          `${num(run.seconds, 1)} s`,
          num(rate, 1),
          `≥ ${TARGET}`,
          verdict(rate, TARGET, true),
          delivered >= started ? `${num(drainSeconds, 1)} s later` : `${num(delivered)} after ${num(drainSeconds)} s`,
          `${num(host.peakRssMb())} MB`,
        ],
      ],
      [
        'posts/s counts rows in `inbound` whose workflow start Temporal acknowledged (distinct messages: smtp-source',
        'numbers each Message-Id), over smtp-source\'s wall time. Each post is then delivered to the list\'s one member.',
      ],
    );
  } finally {
    await host.stop();
    await sink.stop();
  }
}
