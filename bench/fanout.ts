// Scenario fan-out: one 2 KB post to 10,000 and 100,000 members into smtp-sink, bulk and per-recipient.
import { statusQuery, type PostStatus } from '../workflows/messages.js';
import { updateSettings } from '../store/lists.js';
import type { DeliveryMode } from '../mail/settings.js';
import { envInt, envList, type BenchContext } from './context.js';
import { benchMessage, createBenchList, memberAddresses, queuedId, sendRaw } from './mail.js';
import { INSTALL_HINT, startSink } from './postfix.js';
import { formatBreakdown, startCpuWindow, type CpuBreakdown } from './cpu.js';
import { timelineOf, type Timeline } from './history.js';
import { startHost, type Host } from './services.js';
import { num, printTable, verdict } from './table.js';

/** per-recipient-decorated: per-recipient with a personalized footer, subject prefix and one-click headers. */
type Variant = DeliveryMode | 'per-recipient-decorated';

interface Run {
  mode: Variant;
  members: number;
  sent: number;
  failed: number;
  seconds: number;
  transactions: number;
  cpu: CpuBreakdown;
  timeline: Timeline | undefined;
  /** How long each status query took while the post was delivering. */
  queryMs: number[];
  rssMb: number;
  finished: boolean;
}

const TARGET = { bulk: 20_000, 'per-recipient': 2_000, 'per-recipient-decorated': 2_000 } as const;

/** Undecorated runs turn decoration off, so the decorated variant is compared with the bare copies. */
const VARIANT_SETTINGS = {
  bulk: { delivery_mode: 'bulk', subject_prefix: '', msg_footer: '', personalize: 'none' },
  'per-recipient': { delivery_mode: 'per-recipient', subject_prefix: '', msg_footer: '', personalize: 'none' },
  'per-recipient-decorated': {
    delivery_mode: 'per-recipient',
    subject_prefix: '[{display_name}] ',
    msg_footer: '--\\n{display_name} mailing list -- {list}\\nYou are subscribed as {member}. Leave: {unsubscribe_url}',
    personalize: 'full',
  },
} as const;
const RSS_TARGET_MB = 400;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

async function runOne(ctx: BenchContext, sinkBinary: string, list: string, members: number, mode: Variant, poster: string): Promise<Run> {
  await updateSettings(ctx.db, list, { ...VARIANT_SETTINGS[mode] });
  const sink = await startSink(sinkBinary);
  const timeoutMs = envInt('BENCH_FANOUT_TIMEOUT_S', 600) * 1000;
  // Started inside try, so a host that fails to start does not leave the SMTP server behind.
  let host: Host | undefined;
  try {
    host = await startHost({ databaseUrl: ctx.databaseUrl, temporalAddress: ctx.temporal.address, smarthost: sink.url });
    const { raw } = benchMessage(poster, list, `fan-out ${mode} to ${members}`);
    const cpu = startCpuWindow(host.pid);
    const { response, at: t0 } = await sendRaw(host.smtpPort, poster, list, raw);
    const handle = ctx.temporal.client.workflow.getHandle(queuedId(response));
    let last: PostStatus | undefined;
    const queryMs: number[] = [];
    let done: { status: PostStatus; at: number } | undefined;
    const result = handle.result().then((status: PostStatus) => (done = { status, at: performance.now() }));
    result.catch(() => {});
    const deadline = t0 + timeoutMs;
    let nextLog = t0 + 10_000;
    // Polls the status query once a second for progress; the end time comes from the workflow's result.
    while (!done && performance.now() < deadline) {
      await Promise.race([result, new Promise((r) => setTimeout(r, 1000))]).catch(() => {});
      if (done) break;
      const asked = performance.now();
      last = await handle.query(statusQuery).catch(() => last);
      queryMs.push(performance.now() - asked);
      if (performance.now() >= nextLog && last) {
        ctx.log(`  ${mode} ${num(members)}: ${last.state}, ${num(last.delivery.sent)} sent after ${num((performance.now() - t0) / 1000, 0)} s`);
        nextLog += 10_000;
      }
    }
    const end = done?.at ?? performance.now();
    const status = done?.status ?? last;
    const rssMb = host.peakRssMb();
    const cpuUsed = cpu.stop();
    if (!done) await handle.terminate('benchmark time limit').catch(() => {});
    const timeline = done ? await timelineOf(handle) : undefined;
    return {
      mode,
      members,
      sent: status?.delivery.sent ?? 0,
      failed: status?.delivery.failed ?? 0,
      seconds: (end - t0) / 1000,
      transactions: sink.messages(),
      cpu: cpuUsed,
      timeline,
      queryMs,
      rssMb,
      finished: !!done && status?.state === 'delivered',
    };
  } finally {
    await host?.stop();
    await sink.stop();
  }
}

export async function fanOut(ctx: BenchContext): Promise<void> {
  if (!ctx.smtpSink) {
    console.log(`\nfan-out: skipped, smtp-sink not found (${INSTALL_HINT})`);
    return;
  }
  const sizes = envList('BENCH_FANOUT_SIZES', ['10000', '100000']).map(Number);
  const modes = envList('BENCH_FANOUT_MODES', ['bulk', 'per-recipient', 'per-recipient-decorated']) as Variant[];
  const all = memberAddresses(Math.max(...sizes));
  const poster = all[0] as string;
  const lists = new Map<number, string>();
  for (const size of sizes) {
    const address = `fanout-${size}@bench.example`;
    const started = performance.now();
    await createBenchList(ctx.db, address, all.slice(0, size));
    ctx.log(`fan-out: list ${address} with ${num(size)} members loaded in ${num((performance.now() - started) / 1000, 1)} s`);
    lists.set(size, address);
  }
  const runs: Run[] = [];
  for (const mode of modes) {
    for (const size of sizes) {
      ctx.log(`fan-out: ${mode} to ${num(size)} members…`);
      const run = await runOne(ctx, ctx.smtpSink, lists.get(size) as string, size, mode, poster);
      ctx.log(`fan-out: ${mode} to ${num(size)}: ${num(run.sent / run.seconds)} recipients/s, ${num(run.seconds, 1)} s, ${num(run.rssMb)} MB`);
      runs.push(run);
    }
  }
  printTable(
    'fan-out: one 2 KB post into smtp-sink (250 of the post → workflow delivered)',
    ['mode', 'members', 'delivered', 'wall time', 'recipients/s', 'target', 'vs target', 'worker peak RSS (target < 400 MB)'],
    runs.map((r) => [
      r.mode,
      num(r.members),
      `${num(r.sent)}${r.failed ? ` (+${num(r.failed)} failed)` : ''}${r.finished ? '' : ' (time limit)'}`,
      `${num(r.seconds, 1)} s`,
      num(r.sent / r.seconds),
      `≥ ${num(TARGET[r.mode])}`,
      verdict(r.sent / r.seconds, TARGET[r.mode], true),
      `${num(r.rssMb)} MB (${verdict(r.rssMb, RSS_TARGET_MB, false)})`,
    ]),
    ['Worker peak RSS: VmHWM of the listflow process (ingress, core and delivery workers in one process).'],
  );
  printTable(
    'fan-out: where the time went',
    ['mode', 'members', 'accept + snapshot', 'batches', 'SMTP transactions', 'status query (median / max)', 'listflow CPU', 'machine busy', 'CPU seconds by process'],
    runs.map((r) => [
      r.mode,
      num(r.members),
      r.timeline ? `${num(r.timeline.acceptMs / 1000, 2)} s` : '–',
      r.timeline ? `${num(r.timeline.batches)} in ${num(r.timeline.deliverMs / 1000, 1)} s` : '–',
      num(r.transactions),
      r.queryMs.length ? `${num(median(r.queryMs), 1)} / ${num(Math.max(...r.queryMs), 1)} ms (${r.queryMs.length}×)` : '–',
      `${num(((r.cpu.seconds.listflow ?? 0) * 1e6) / Math.max(1, r.sent))} µs/rcpt`,
      `${num(r.cpu.machineBusy * 100)}%`,
      formatBreakdown(r.cpu),
    ]),
    [
      'accept + snapshot: workflow start → first batch scheduled (verify, classify, decorate, ledger snapshot, archive); batches: deliverBatch activities',
      'and the time from then to the end, both from the workflow history. Status query: asked once a second meanwhile.',
      'SMTP transactions: as counted by smtp-sink. listflow CPU: CPU time of the listflow process per recipient. Machine busy:',
      'share of all cores busy during the run, whoever used them. CPU seconds by process: listflow, PostgreSQL, the Temporal',
      'dev server, smtp-sink, the bench itself, and other (anything else running on the machine).',
    ],
  );
}
