// Scenario bounce-storm: a post to a stale list of 10,000 members, then 10,000 bounces of mixed formats to its
// VERP return paths over SMTP; measured from the first bounce sent until every bounce workflow has closed and every
// member's bouncer has taken its bounce, while another list gets a post a second (is posting stalled?).
import { randomBytes } from 'node:crypto';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { bouncerWorkflowId } from '../workflows/messages.js';
import { envInt, type BenchContext } from './context.js';
import { formatBreakdown, startCpuWindow } from './cpu.js';
import { benchMessage, createBenchList, sendRaw } from './mail.js';
import { startRecorder, type Recorder } from './recorder.js';
import { procStatusKb, startHost, type Host } from './services.js';
import { formatShares, stormBounce, type StormBounce } from './storm-bounces.js';
import { num, printTable, verdict } from './table.js';

const TARGET = 200;
const STALE = 'stale@bench.example';
const LIVE = 'live@bench.example';
const DOMAINS = ['example.com', 'example.net', 'mail.example.org', 'post.example.de', 'students.example.edu'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** A member address for slot i: varied local parts and domains, as a real stale roster has. */
function stormMember(i: number): string {
  return `member.${String(i).padStart(5, '0')}@${DOMAINS[i % DOMAINS.length]}`;
}

/** One SMTP connection to the ingress, reused for many messages (reconnecting when the server closes it). */
class Sender {
  private conn: SMTPConnection | null = null;
  constructor(private readonly port: number) {}

  private connect(): Promise<SMTPConnection> {
    return new Promise((resolve, reject) => {
      const c = new SMTPConnection({ host: '127.0.0.1', port: this.port, secure: false, ignoreTLS: true, name: 'mx.bounces.example', connectionTimeout: 30_000, socketTimeout: 120_000 });
      c.once('error', reject);
      c.connect(() => {
        c.removeListener('error', reject);
        // A later error ends this connection; the next send opens another.
        c.on('error', () => (this.conn === c ? (this.conn = null) : undefined));
        c.once('end', () => (this.conn === c ? (this.conn = null) : undefined));
        resolve(c);
      });
    });
  }

  async send(to: string, raw: Buffer): Promise<string> {
    this.conn ??= await this.connect();
    const c = this.conn;
    return new Promise((resolve, reject) => {
      // Bounces come from the null sender (MAIL FROM:<>), as RFC 5321 requires.
      c.send({ from: false, to: [to] }, raw, (err, info) => {
        if (err) {
          // After a 4xx/5xx the session may be anywhere: start the next message on a fresh connection.
          c.close();
          if (this.conn === c) this.conn = null;
          reject(err);
        } else resolve(info?.response ?? '');
      });
    });
  }

  close(): void {
    this.conn?.quit();
    this.conn = null;
  }
}

interface Latency {
  samples: number[];
  /** Posts the ingress did not take (no 250), and posts taken but not delivered within 180 s. */
  refused: number;
  late: number;
}

/** Posts to the live list once a second until stopped; each sample is 250 → first delivered copy. */
function postEverySecond(port: number, recorder: Recorder, poster: string, label: string): { stop(): Promise<Latency> } {
  const result: Latency = { samples: [], refused: 0, late: 0 };
  const inFlight: Promise<void>[] = [];
  let running = true;
  let n = 0;
  const loop = (async () => {
    while (running) {
      const tick = performance.now();
      const { raw, messageId } = benchMessage(poster, LIVE, `${label} ${n++}`);
      inFlight.push(
        sendRaw(port, poster, LIVE, raw).then(
          ({ at }) => recorder.firstCopy(messageId, 180_000).then((first) => void result.samples.push(first - at), () => void result.late++),
          () => void result.refused++,
        ),
      );
      await sleep(Math.max(0, 1000 - (performance.now() - tick)));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await Promise.all(inFlight);
      return result;
    },
  };
}

interface BouncerView {
  updatedAt: string;
  events: { id: string }[];
}

export async function bounceStorm(ctx: BenchContext): Promise<void> {
  const count = envInt('BENCH_STORM_BOUNCES', 10_000);
  const connections = envInt('BENCH_STORM_CONNECTIONS', 16);
  const baselinePosts = envInt('BENCH_STORM_BASELINE_POSTS', 15);
  const timeoutMs = envInt('BENCH_STORM_TIMEOUT_S', 900) * 1000;
  const members = Array.from({ length: count }, (_, i) => stormMember(i));
  const staleId = await createBenchList(ctx.db, STALE, members);
  const livePoster = 'poster@live.example';
  await createBenchList(ctx.db, LIVE, [livePoster, ...Array.from({ length: 9 }, (_, i) => `reader${i}@live.example`)]);
  const { rows: tokenRows } = await ctx.db.query<{ address: string; verp_token: string }>(`SELECT address, verp_token FROM members WHERE list_id = $1 AND role = 'member'`, [staleId]);
  const tokens = new Map(tokenRows.map((r) => [r.address, r.verp_token]));

  const recorder = await startRecorder();
  let host: Host | undefined;
  try {
    host = await startHost({ databaseUrl: ctx.databaseUrl, temporalAddress: ctx.temporal.address, smarthost: recorder.url });
    const port = host.smtpPort;

    // The post that finds the list stale: delivered to every member (the recorder accepts them all).
    const post = benchMessage(members[0] as string, STALE, '[Stale] annual reminder');
    await sendRaw(port, members[0] as string, STALE, post.raw);
    const fanStart = performance.now();
    while (recorder.recipients() < count + 0 && performance.now() - fanStart < 300_000) await sleep(250);
    ctx.log(`bounce-storm: the post reached ${num(recorder.recipients())} members in ${num((performance.now() - fanStart) / 1000, 1)} s`);

    ctx.log(`bounce-storm: ${baselinePosts} posts to ${LIVE}, one a second, before the storm`);
    const before = postEverySecond(port, recorder, livePoster, 'before');
    await sleep(baselinePosts * 1000);
    const baseline = await before.stop();

    // The storm. Bounces are built as they are sent (10,000 are held in memory only one per connection).
    const during = postEverySecond(port, recorder, livePoster, 'during');
    const cpu = startCpuWindow(host.pid);
    let peakRssKb = 0;
    const rssTimer = setInterval(() => (peakRssKb = Math.max(peakRssKb, procStatusKb(host?.pid ?? 0, 'VmRSS'))), 500);
    const expected = { permanent: 0, temporary: 0, policy: 0 };
    const formats = new Map<string, number>();
    let next = 0;
    let accepted = 0;
    let retried = 0;
    let refused = 0;
    const started = performance.now();
    const startedWall = Date.now();
    ctx.log(`bounce-storm: sending ${num(count)} bounces over ${connections} SMTP connections`);
    await Promise.all(
      Array.from({ length: connections }, async () => {
        const sender = new Sender(port);
        try {
          while (next < count) {
            const i = next++;
            const member = members[i] as string;
            const b: StormBounce = stormBounce(i, STALE, member, tokens.get(member) ?? '', `${randomBytes(6).toString('hex')}@bench.example`);
            expected[b.expected]++;
            formats.set(b.format, (formats.get(b.format) ?? 0) + 1);
            for (let attempt = 1; ; attempt++) {
              try {
                await sender.send(b.to, b.raw);
                accepted++;
                break;
              } catch (err) {
                const code = (err as { responseCode?: number }).responseCode ?? 0;
                // 4xx (or a dropped connection): the sending MTA would queue and retry; so does the bench.
                if (code >= 500 || attempt >= 5) {
                  refused++;
                  ctx.log(`bounce-storm: bounce ${i} refused: ${(err as Error).message}`);
                  break;
                }
                retried++;
                await sleep(1000 * attempt);
              }
            }
          }
        } finally {
          sender.close();
        }
      }),
    );
    const ingestSeconds = (performance.now() - started) / 1000;
    ctx.log(`bounce-storm: ${num(accepted)} accepted in ${num(ingestSeconds, 1)} s; waiting for the bounce workflows`);

    // Every bounce workflow closed (visibility is eventually consistent: polled).
    const client = ctx.temporal.client;
    let closed = 0;
    let failed = 0;
    let closedAt = performance.now();
    while (performance.now() - started < timeoutMs) {
      closed = (await client.workflow.count(`WorkflowType = 'bounceWorkflow' AND ExecutionStatus = 'Completed'`)).count;
      failed = (await client.workflow.count(`WorkflowType = 'bounceWorkflow' AND ExecutionStatus IN ('Failed', 'Terminated', 'TimedOut')`)).count;
      closedAt = performance.now();
      if (closed + failed >= accepted) break;
      await sleep(500);
    }

    // CPU until the bounce workflows closed: the status queries below would count too.
    const used = cpu.stop();

    // Every counted bounce taken by its member's bouncer: the bounce's workflow ID among the bouncer's events.
    const { rows: events } = await ctx.db.query<{ recipient: string; workflow_id: string; classification: string | null; scored: boolean | null }>(
      `SELECT recipient, workflow_id, to_jsonb(e)->>'classification' AS classification, (to_jsonb(e)->>'scored')::boolean AS scored
       FROM bounce_events e WHERE list_id = $1 AND source = 'inbound'`,
      [staleId],
    );
    const byClass = new Map<string, number>();
    for (const e of events) byClass.set(e.classification ?? '(none)', (byClass.get(e.classification ?? '(none)') ?? 0) + 1);
    const toScore = events.filter((e) => e.scored && e.recipient);
    let lastBouncerMs = 0;
    let unseen = toScore;
    let queries = 0;
    while (unseen.length > 0 && performance.now() - started < timeoutMs) {
      const missing: typeof toScore = [];
      let at = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (at < unseen.length) {
            const e = unseen[at++] as (typeof toScore)[number];
            queries++;
            try {
              const s = await client.workflow.getHandle(bouncerWorkflowId(STALE, e.recipient)).query<BouncerView>('status');
              if (s.events.some((x) => x.id === e.workflow_id)) lastBouncerMs = Math.max(lastBouncerMs, Date.parse(s.updatedAt));
              else missing.push(e);
            } catch {
              missing.push(e);
            }
          }
        }),
      );
      unseen = missing;
      if (unseen.length > 0) await sleep(1000);
    }
    // The end: the later of the last bounce workflow closing (as polled) and the last bouncer update (its own clock).
    const endMs = Math.max(closedAt - started, lastBouncerMs - startedWall);
    clearInterval(rssTimer);
    const storm = await during.stop();
    const seconds = endMs / 1000;
    const rate = accepted / seconds;
    const lat = (l: Latency) => {
      const s = [...l.samples].sort((a, b) => a - b);
      return `${num(percentile(s, 50))} / ${num(percentile(s, 99))} ms (${s.length} delivered${l.late ? `, ${l.late} not within 180 s` : ''}${l.refused ? `, ${l.refused} not accepted` : ''})`;
    };
    const complete = closed >= accepted && unseen.length === 0;
    printTable(
      `bounce-storm: ${num(count)} bounces to a stale list's VERP addresses over SMTP (${connections} connections)`,
      ['bounces sent', 'accepted (250)', 'ingest wall time', 'ingest rate', 'bounce workflows closed', 'bouncers updated', 'end to end', 'bounces/s', 'target', 'vs target', 'CPU per bounce (listflow / Temporal / PostgreSQL)', 'listflow peak RSS', 'machine busy', 'CPU seconds by process'],
      [
        [
          num(count),
          `${num(accepted)}${retried ? ` (${num(retried)} retried after 4xx)` : ''}${refused ? `, ${num(refused)} refused` : ''}`,
          `${num(ingestSeconds, 1)} s`,
          `${num(accepted / ingestSeconds, 1)}/s`,
          `${num(closed)}${failed ? ` (+${num(failed)} failed)` : ''}`,
          `${num(toScore.length - unseen.length)} of ${num(toScore.length)}`,
          complete ? `${num(seconds, 1)} s` : `incomplete after ${num(seconds, 1)} s`,
          num(rate, 1),
          `≥ ${TARGET}`,
          complete ? verdict(rate, TARGET, true) : 'not met (incomplete)',
          ['listflow', 'temporal', 'postgres'].map((k) => num(((used.seconds[k] ?? 0) * 1000) / Math.max(1, accepted), 1)).join(' / ') + ' ms',
          `${num(peakRssKb / 1024)} MB`,
          `${num(used.machineBusy * 100)}%`,
          formatBreakdown(used),
        ],
      ],
      [
        `bounce mix: ${formatShares().map((f) => `${f.name} ${f.share} %`).join('; ')}.`,
        `expected: ${expected.permanent} permanent, ${expected.temporary} temporary, ${expected.policy} policy; recorded (bounce_events): ${[...byClass].map(([k, v]) => `${k} ${v}`).join(', ')}.`,
        'end to end: from the first bounce sent to the later of the last bounce workflow closed (Temporal visibility, polled',
        "every 0.5 s) and the last bouncer that recorded its bounce (the bouncer's own updatedAt; every scored bounce is checked",
        `by its bouncer's status query, ${num(queries)} queries). The post to the stale list is delivered before the storm starts.`,
        'CPU: from the first bounce sent until the last bounce workflow closed, per bounce accepted (the posts to the other list included).',
      ],
    );
    printTable(
      `bounce-storm: posts to ${LIVE} (10 members), one a second — 250 → first delivered copy`,
      ['before the storm p50 / p99 (posts)', 'during the storm p50 / p99 (posts)', 'during: max'],
      [[lat(baseline), lat(storm), `${num(Math.max(...storm.samples, 0))} ms`]],
    );
  } finally {
    await host?.stop();
    await recorder.close();
  }
}
