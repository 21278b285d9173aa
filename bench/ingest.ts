// Scenario ingest: posts per second accepted with a durable 250, with Postfix's smtp-source as the client.
import { createHash } from 'node:crypto';
import { workflowIdFor } from '../mail/ids.js';
import { initialAttributes } from '../workflows/messages.js';
import { envInt, type BenchContext } from './context.js';
import { formatBreakdown, startCpuWindow, type CpuBreakdown } from './cpu.js';
import { createBenchList } from './mail.js';
import { INSTALL_HINT, runSource, startSink } from './postfix.js';
import { startHost, type Host } from './services.js';
import { num, printTable, verdict } from './table.js';

const TARGET = 100;

async function count(ctx: BenchContext, sql: string, params: unknown[]): Promise<number> {
  const { rows } = await ctx.db.query<{ n: string }>(sql, params);
  return Number(rows[0]?.n ?? 0);
}

interface IngestRun {
  label: string;
  posts: number;
  sessions: number;
  started: number;
  seconds: number;
  rssMb: number;
  cpu: CpuBreakdown;
  /**
   * Seconds after smtp-source finished until every accepted post was delivered, and the CPU used from the first
   * post sent until then: what one host sustains (workers running only).
   */
  drained: { seconds: number; delivered: number; whole: CpuBreakdown } | null;
}

async function runIngest(ctx: BenchContext, smtpSink: string, smtpSource: string, roles: string, list: string): Promise<IngestRun> {
  const posts = envInt('BENCH_INGEST_POSTS', 2000);
  const sessions = envInt('BENCH_INGEST_SESSIONS', 20);
  const poster = 'poster@bench.example';
  // The poster is the list's one member, so every post is accepted and delivered (one copy into smtp-sink).
  await createBenchList(ctx.db, list, [poster]);
  const sink = await startSink(smtpSink);
  // Started inside try, so a host that fails to start does not leave the SMTP server behind.
  let host: Host | undefined;
  try {
    host = await startHost({ databaseUrl: ctx.databaseUrl, temporalAddress: ctx.temporal.address, smarthost: sink.url, roles });
    // A subject, or the no-subject rule would hold every post. smtp-source numbers each message in its Message-Id (<pid.fd.count@host>), so every post's bytes differ.
    const args = ['-s', String(sessions), '-d', '-m', String(posts), '-l', '2048', '-f', poster, '-t', list, '-S', 'bench post', '-M', 'bench.example', `127.0.0.1:${host.smtpPort}`];
    ctx.log(`ingest (${roles}): smtp-source ${args.join(' ')}`);
    const cpu = startCpuWindow(host.pid);
    const whole = startCpuWindow(host.pid);
    const run = await runSource(smtpSource, args, envInt('BENCH_INGEST_TIMEOUT_S', 300) * 1000);
    const used = cpu.stop();
    if (run.code !== 0) ctx.log(`ingest: smtp-source exited with ${run.code}: ${run.output.trim()}`);
    const started = await count(ctx, `SELECT count(*) AS n FROM inbound WHERE list_address = $1 AND started_at IS NOT NULL`, [list]);
    let drained: IngestRun['drained'] = null;
    if (roles.includes('delivery')) {
      // The accepted posts were being classified and delivered while ingest went on; wait for the rest.
      const drainStart = performance.now();
      const deadline = drainStart + envInt('BENCH_INGEST_DRAIN_TIMEOUT_S', 300) * 1000;
      let delivered = 0;
      while (performance.now() < deadline) {
        delivered = await count(
          ctx,
          `SELECT count(*) AS n FROM deliveries d JOIN inbound i ON i.workflow_id = d.workflow_id
           WHERE i.list_address = $1 AND d.status = 'sent'`,
          [list],
        );
        if (delivered >= started) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      drained = { seconds: (performance.now() - drainStart) / 1000, delivered, whole: whole.stop() };
    }
    return { label: roles, posts, sessions, started, seconds: run.seconds, rssMb: host.peakRssMb(), cpu: used, drained };
  } finally {
    await host?.stop();
    await sink.stop();
  }
}

/**
 * The dev server's own ceiling: workflow starts like ingress's (same arguments and search attributes, 20 at a
 * time) with no SMTP, no database and no worker, so the posts/s above can be read against it.
 */
async function bareStarts(ctx: BenchContext, count: number, concurrency: number): Promise<{ seconds: number; cpu: CpuBreakdown }> {
  const list = 'ceiling@bench.example';
  const cpu = startCpuWindow(process.pid);
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const sha256 = createHash('sha256').update(`bare start ${i} ${started}`).digest('hex');
        await ctx.temporal.client.workflow.start('postWorkflow', {
          workflowId: workflowIdFor('post', list, sha256),
          taskQueue: `bench-no-worker-${started}`,
          args: [
            { list, sha256, envelopeFrom: 'poster@bench.example', rcptTo: list, receivedAt: new Date().toISOString() },
            { deliveryTaskQueue: 'bench-no-worker', parallelBatches: 8 },
          ],
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          typedSearchAttributes: initialAttributes(list, 'post', 'poster@bench.example'),
        });
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, cpu: cpu.stop() };
}

export async function ingest(ctx: BenchContext): Promise<void> {
  if (!ctx.smtpSink || !ctx.smtpSource) {
    console.log(`\ningest: skipped, smtp-source or smtp-sink not found (${INSTALL_HINT})`);
    return;
  }
  // BENCH_INGEST_RUNS: which rows, of all (every role), ingress (alone) and bare (bare starts); all three by default.
  const wanted = new Set((process.env.BENCH_INGEST_RUNS ?? 'all,ingress,bare').split(',').map((w) => w.trim()));
  const runs: IngestRun[] = [];
  if (wanted.has('all')) runs.push(await runIngest(ctx, ctx.smtpSink, ctx.smtpSource, 'ingress,core,delivery', 'ingest@bench.example'));
  if (wanted.has('ingress')) runs.push(await runIngest(ctx, ctx.smtpSink, ctx.smtpSource, 'ingress', 'ingest-mx@bench.example'));
  const sessions = envInt('BENCH_INGEST_SESSIONS', 20);
  const bare = wanted.has('bare') ? await bareStarts(ctx, envInt('BENCH_INGEST_POSTS', 2000), sessions) : null;
  const bareRow = bare && [
    'none: bare workflow starts',
    num(envInt('BENCH_INGEST_POSTS', 2000)),
    String(sessions),
    num(envInt('BENCH_INGEST_POSTS', 2000)),
    `${num(bare.seconds, 1)} s`,
    num(envInt('BENCH_INGEST_POSTS', 2000) / bare.seconds, 1),
    '',
    '',
    '',
    '',
    `${num(bare.cpu.machineBusy * 100)}%`,
    formatBreakdown(bare.cpu).replace('listflow', 'bench'),
  ];
  printTable(
    'ingest: smtp-source → ingress, 2 KB posts, a durable 250 each',
    ['roles running', 'posts sent', 'sessions', 'distinct posts started', 'wall time', 'posts/s', 'target', 'vs target', 'all delivered', 'listflow peak RSS', 'machine busy', 'CPU seconds by process'],
    runs.map((r) => [
      r.label,
      num(r.posts),
      String(r.sessions),
      num(r.started),
      `${num(r.seconds, 1)} s`,
      num(r.started / r.seconds, 1),
      `≥ ${TARGET}`,
      verdict(r.started / r.seconds, TARGET, true),
      r.drained === null ? '(no workers)' : r.drained.delivered >= r.started ? `${num(r.drained.seconds, 1)} s later` : `${num(r.drained.delivered)} after ${num(r.drained.seconds)} s`,
      `${num(r.rssMb)} MB`,
      `${num(r.cpu.machineBusy * 100)}%`,
      formatBreakdown(r.cpu),
    ]).concat(bareRow ? [bareRow] : []),
    [
      'posts/s: rows in `inbound` whose workflow start Temporal acknowledged (distinct messages: smtp-source numbers each',
      "Message-Id), over smtp-source's wall time. With all roles, the accepted posts are classified and delivered (one member)",
      'while ingest goes on; with ingress alone they wait in Temporal, which is what the MX can take when delivery lags.',
      'CPU seconds: during the smtp-source run. Bare workflow starts: the same client.workflow.start calls ingress makes',
      '(arguments, search attributes, concurrency), with no SMTP, database or worker: the Temporal dev server\'s own ceiling.',
    ],
  );
  const complete = runs.flatMap((r) => (r.drained && r.drained.delivered >= r.started ? [{ posts: r.started, whole: r.drained.whole }] : []));
  if (complete.length === 0) return;
  printTable(
    'ingest with every role: from the first post sent to the last one delivered',
    ['posts', 'wall time', 'complete posts/s', 'CPU per post: Temporal', 'listflow', 'PostgreSQL', 'machine busy'],
    complete.map(({ posts, whole: w }) => {
      const perPost = (who: string) => `${num(((w.seconds[who] ?? 0) * 1000) / posts, 1)} ms`;
      return [num(posts), `${num(w.wall, 1)} s`, num(posts / w.wall, 1), perPost('temporal'), perPost('listflow'), perPost('postgres'), `${num(w.machineBusy * 100)}%`];
    }),
    [
      'What one host sustains once posts arrive faster than it delivers them: every post received, classified, accepted,',
      'archived and delivered (one copy each). CPU per post is the CPU each process used over that time, over the posts.',
    ],
  );
}
