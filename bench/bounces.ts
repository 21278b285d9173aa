// Scenario bounces: parseBounce scored against the expected results of two real bounce corpora (no services needed).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseBounce } from '../mail/bounce.js';
import { num, printTable } from './table.js';

interface Expected {
  file: string;
  bounce?: boolean | null;
  recipients?: string[];
  temporary?: boolean;
  status?: string;
  smtp_code?: number | string;
  std_reason?: string;
}

interface Score {
  messages: number;
  bounceKnown: number;
  bounceRight: number;
  tp: number;
  fp: number;
  fn: number;
  permKnown: number;
  permRight: number;
  statusKnown: number;
  statusRight: number;
  codeKnown: number;
  codeRight: number;
  /** Messages the corpus says are not bounces, and how many of them parseBounce recognised as such. */
  nonBounces: number;
  nonBouncesRight: number;
  reasonKnown: number;
  reasonRight: number;
  ms: number;
  misses: string[];
}

const empty = (): Score => ({ messages: 0, bounceKnown: 0, bounceRight: 0, tp: 0, fp: 0, fn: 0, permKnown: 0, permRight: 0, statusKnown: 0, statusRight: 0, codeKnown: 0, codeRight: 0, nonBounces: 0, nonBouncesRight: 0, reasonKnown: 0, reasonRight: 0, ms: 0, misses: [] });

/**
 * The corpus's std_reason has no 'policy': Mail::DeliveryStatus::BounceParser files block-list and content refusals
 * under 'spam', so listflow's 'policy' (authentication, block, prohibited) is scored as 'spam' there.
 */
const asCorpusReason = (category: string | undefined) => (category === 'policy' ? 'spam' : category);

/** Addresses compared as the corpus README says: local part case-insensitively, domain case-insensitively too. */
const key = (a: string) => a.trim().toLowerCase();

function scoreCorpus(dir: string, name: string): Score {
  const s = empty();
  const lines = readFileSync(path.join(dir, `${name}.jsonl`), 'utf8').split('\n').filter((l) => l.trim());
  for (const line of lines) {
    const exp = JSON.parse(line) as Expected;
    const raw = readFileSync(path.join(dir, exp.file));
    const t0 = performance.now();
    const report = parseBounce(raw);
    s.ms += performance.now() - t0;
    s.messages++;
    const failed = report.recipients.filter((r) => r.action === 'failed' || r.action === 'delayed');
    const expectBounce = exp.bounce ?? (exp.recipients && exp.recipients.length > 0 ? true : null);
    if (expectBounce !== null && expectBounce !== undefined) {
      s.bounceKnown++;
      if (expectBounce === false) {
        s.nonBounces++;
        if (!report.isBounce) s.nonBouncesRight++;
      }
      if (report.isBounce === expectBounce) s.bounceRight++;
      else s.misses.push(`${exp.file}: bounce ${report.isBounce} (expected ${expectBounce}) — ${report.reason}`);
    }
    if (exp.recipients) {
      const want = new Set(exp.recipients.map(key));
      const got = new Set(failed.map((r) => key(r.address)));
      const tp = [...got].filter((a) => want.has(a)).length;
      s.tp += tp;
      s.fp += got.size - tp;
      s.fn += want.size - tp;
      if (tp !== want.size || got.size !== tp) s.misses.push(`${exp.file}: got [${[...got].join(', ')}] expected [${[...want].join(', ')}] — ${report.reason}`);
    }
    if (exp.temporary !== undefined && failed.length > 0) {
      s.permKnown++;
      if (failed.every((r) => r.permanent === !exp.temporary)) s.permRight++;
      else s.misses.push(`${exp.file}: permanent ${failed[0]?.permanent} expected temporary ${exp.temporary}`);
    }
    if (exp.status) {
      s.statusKnown++;
      if (failed.some((r) => r.status === exp.status)) s.statusRight++;
      else s.misses.push(`${exp.file}: status ${failed.map((r) => r.status).join(', ')} expected ${exp.status}`);
    }
    if (exp.std_reason) {
      s.reasonKnown++;
      if (failed.some((r) => asCorpusReason(r.category) === exp.std_reason)) s.reasonRight++;
      else s.misses.push(`${exp.file}: reason ${failed.map((r) => r.category).join(', ')} expected ${exp.std_reason} — ${failed[0]?.diagnostic?.slice(0, 100) ?? ''}`);
    }
    if (exp.smtp_code) {
      s.codeKnown++;
      if (failed.some((r) => r.smtpCode === Number(exp.smtp_code))) s.codeRight++;
      else s.misses.push(`${exp.file}: SMTP code ${failed.map((r) => r.smtpCode).join(', ')} expected ${exp.smtp_code}`);
    }
  }
  return s;
}

const pct = (a: number, b: number) => (b === 0 ? '—' : `${((100 * a) / b).toFixed(1)} %`);

function row(label: string, s: Score): string[] {
  return [
    label,
    String(s.messages),
    `${pct(s.bounceRight, s.bounceKnown)} (${s.bounceRight}/${s.bounceKnown})`,
    `${pct(s.tp, s.tp + s.fp)} (${s.tp}/${s.tp + s.fp})`,
    `${pct(s.tp, s.tp + s.fn)} (${s.tp}/${s.tp + s.fn})`,
    `${pct(s.permRight, s.permKnown)} (${s.permRight}/${s.permKnown})`,
    `${pct(s.nonBouncesRight, s.nonBounces)} (${s.nonBouncesRight}/${s.nonBounces})`,
    `${pct(s.statusRight, s.statusKnown)} (${s.statusRight}/${s.statusKnown})`,
    `${pct(s.reasonRight, s.reasonKnown)} (${s.reasonRight}/${s.reasonKnown})`,
    `${pct(s.codeRight, s.codeKnown)} (${s.codeRight}/${s.codeKnown})`,
    num(s.messages / (s.ms / 1000)),
  ];
}

export async function bounces(): Promise<void> {
  const dir = path.resolve(process.env.BENCH_BOUNCE_CORPUS ?? '../shared/corpus/bounces');
  if (!existsSync(path.join(dir, 'flufl.jsonl')) || !existsSync(path.join(dir, 'bounceparser.jsonl'))) {
    console.log(`\nbounces: no corpus at ${dir} (flufl.jsonl and bounceparser.jsonl expected); set BENCH_BOUNCE_CORPUS to the corpus/bounces folder`);
    return;
  }
  const total = empty();
  const rows: string[][] = [];
  for (const name of ['flufl', 'bounceparser']) {
    const s = scoreCorpus(dir, name);
    rows.push(row(name, s));
    for (const k of Object.keys(total) as (keyof Score)[]) {
      if (k === 'misses') total.misses.push(...s.misses);
      else total[k] += s[k];
    }
  }
  rows.push(row('overall', total));
  if (process.env.BENCH_BOUNCE_VERBOSE) for (const m of total.misses) console.error(`# miss ${m}`);
  printTable(
    'bounces: parseBounce on real bounce corpora',
    ['corpus', 'messages', 'bounce-or-not', 'recipient precision', 'recipient recall', 'permanent/temporary', 'non-bounces recognised', 'status', 'reason', 'SMTP code', 'messages/s'],
    rows,
    [
      'targets per set: recipient recall ≥ 95 %, precision ≥ 98 %, non-bounces recognised ≥ 95 %.',
      'Scored: the messages the corpus gives an answer for (its .jsonl); recipients compared case-insensitively; permanent/temporary',
      "where the corpus says and listflow found a recipient; reason: a recipient's category against std_reason ('policy' scored as 'spam').",
      `corpus: ${dir} (BENCH_BOUNCE_CORPUS); BENCH_BOUNCE_VERBOSE=1 lists every miss`,
    ],
  );
}
