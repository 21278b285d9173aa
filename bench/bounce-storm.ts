// Scenario bounce-storm: a stale list's post comes back as N bounces (one DSN per member to its VERP address) over
// SMTP; how many bounces a second are processed end to end (250, parsed, recorded, the member's bouncer signalled),
// and what a post to another list waits meanwhile (250 → first copy).
import { randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import { listSubAddress } from '../mail/address.js';
import { bouncerStatusQuery, bouncerWorkflowId } from '../workflows/messages.js';
import { envInt, type BenchContext } from './context.js';
import { benchMessage, createBenchList, memberAddresses, sendRaw } from './mail.js';
import { startRecorder } from './recorder.js';
import { startHost, type Host } from './services.js';
import { num, printTable, verdict } from './table.js';

const TARGET = 200;

function dsn(list: string, member: string, verp: string): { raw: Buffer; to: string } {
  const to = listSubAddress(list, 'bounces', verp);
  const id = randomBytes(8).toString('hex');
  const raw = [
    'From: MAILER-DAEMON@mx.storm.example (Mail Delivery System)',
    `To: ${to}`,
    'Subject: Undelivered Mail Returned to Sender',
    `Message-Id: <${id}@mx.storm.example>`,
    `Date: ${new Date().toUTCString()}`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${id}"`,
    '',
    `--${id}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    `<${member}>: host mx.storm.example said: 550 5.1.1 User unknown`,
    '',
    `--${id}`,
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.storm.example',
    '',
    `Final-Recipient: rfc822; ${member}`,
    'Action: failed',
    'Status: 5.1.1',
    'Diagnostic-Code: smtp; 550 5.1.1 User unknown',
    '',
    `--${id}--`,
    '',
  ].join('\r\n');
  return { raw: Buffer.from(raw), to };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export async function bounceStorm(ctx: BenchContext): Promise<void> {
  const n = envInt('BENCH_STORM_BOUNCES', 10_000);
  const sessions = envInt('BENCH_STORM_SESSIONS', 20);
  const list = 'storm@bench.example';
  const members = memberAddresses(n, 'storm.example');
  const listId = await createBenchList(ctx.db, list, members);
  const probeList = 'probe@bench.example';
  const probeMembers = memberAddresses(5, 'probe.example');
  await createBenchList(ctx.db, probeList, probeMembers);
  const { rows } = await ctx.db.query<{ address: string; verp_token: string }>('SELECT address, verp_token FROM members WHERE list_id = $1', [listId]);
  const bounces = rows.map((r) => dsn(list, r.address, r.verp_token));
  const recorder = await startRecorder();
  let host: Host | undefined;
  try {
    host = await startHost({ databaseUrl: ctx.databaseUrl, temporalAddress: ctx.temporal.address, smarthost: recorder.url });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: host.smtpPort, secure: false, ignoreTLS: true, pool: true, maxConnections: sessions, maxMessages: Infinity, name: 'mx.storm.example' });
    const started = performance.now();
    // A post to another list every 500 ms while the storm lasts: does mail keep flowing?
    const latencies: number[] = [];
    let storming = true;
    const probe = (async () => {
      while (storming) {
        const { raw, messageId } = benchMessage(probeMembers[0] as string, probeList, 'during the storm');
        const { at } = await sendRaw(host.smtpPort, probeMembers[0] as string, probeList, raw);
        latencies.push((await recorder.firstCopy(messageId, 120_000)) - at);
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    let next = 0;
    let refused = 0;
    await Promise.all(
      Array.from({ length: sessions }, async () => {
        while (next < bounces.length) {
          const b = bounces[next++] as { raw: Buffer; to: string };
          try {
            await transport.sendMail({ envelope: { from: '', to: [b.to] }, raw: b.raw });
          } catch {
            refused += 1;
          }
        }
      }),
    );
    const accepted = (performance.now() - started) / 1000;
    transport.close();
    ctx.log(`bounce-storm: ${n - refused} of ${n} bounces accepted in ${accepted.toFixed(1)} s; waiting for them to be processed`);
    const deadline = performance.now() + envInt('BENCH_STORM_TIMEOUT_S', 900) * 1000;
    let processed = 0;
    while (performance.now() < deadline) {
      const { rows: c } = await ctx.db.query<{ n: string }>(`SELECT count(*) AS n FROM bounce_events WHERE list_id = $1 AND scored`, [listId]);
      processed = Number(c[0]?.n ?? 0);
      if (processed >= n - refused) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const seconds = (performance.now() - started) / 1000;
    storming = false;
    await probe;
    // Each member's bouncer took its bounce: a sample of them answers with score 1.
    let scored = 0;
    const sample = rows.filter((_, i) => i % Math.max(1, Math.floor(rows.length / 50)) === 0).slice(0, 50);
    for (const r of sample) {
      const s = await ctx.temporal.client.workflow.getHandle(bouncerWorkflowId(list, r.address)).query(bouncerStatusQuery).catch(() => null);
      if (s?.score === 1) scored += 1;
    }
    const rate = processed / seconds;
    const sorted = [...latencies].sort((a, b) => a - b);
    printTable(
      `bounce-storm: ${num(n)} DSNs to members' VERP addresses over SMTP (${sessions} sessions), all roles on one host`,
      ['bounces/s end to end', 'target', 'vs target', 'ingress 250s/s', 'processed', 'bouncers sampled at score 1', 'post to another list meanwhile, 250 → first copy (p50 / max)', 'worker peak RSS'],
      [
        [
          num(rate, 1),
          `≥ ${TARGET}`,
          verdict(rate, TARGET, true),
          num((n - refused) / accepted, 1),
          `${num(processed)} of ${num(n)} in ${seconds.toFixed(1)} s`,
          `${scored} of ${sample.length}`,
          `${num(percentile(sorted, 50))} / ${num(sorted[sorted.length - 1] ?? NaN)} ms (${sorted.length} posts)`,
          `${num(host.peakRssMb())} MB`,
        ],
      ],
      [
        'Processed = the bounce workflow parsed it, recorded it in bounce_events and signalled the member\'s bouncer (signal-with-start).',
        'Each bounce is two workflows (bounce/… and bouncer/…), so the dev server\'s workflow-start ceiling (see ingest) bounds it.',
      ],
    );
  } finally {
    await host?.stop();
    await recorder.close();
  }
}
