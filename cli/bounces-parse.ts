// `listflow bounces parse <file.eml>`: what the bounce detector makes of one message, so an owner can see why a
// member was (or was not) scored. Pure: reads the file and runs mail/bounce.ts, no database and no Temporal.
import { readFile } from 'node:fs/promises';
import { isPolicyRejection, parseBounce, type BounceRecipient, type BounceReport } from '../mail/bounce.js';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { clean, fields, json, truncate } from './output.js';

/** Larger than any bounce a mail server would accept; a file beyond it is not a message. */
const MAX_BYTES = 64 * 1024 * 1024;

async function readMessage(file: string): Promise<Buffer> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of process.stdin) {
      size += (chunk as Buffer).length;
      if (size > MAX_BYTES) throw new CliError(`stdin: more than ${MAX_BYTES / 1024 / 1024} MB, not a mail message`);
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }
  try {
    const raw = await readFile(file);
    if (raw.length > MAX_BYTES) throw new CliError(`${file}: more than ${MAX_BYTES / 1024 / 1024} MB, not a mail message`);
    return raw;
  } catch (err) {
    if (err instanceof CliError) throw err;
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new CliError(`cannot read ${file}: ${why}`);
  }
}

const METHOD_TEXT: Record<string, string> = {
  dsn: 'RFC 3464 delivery-status report',
  'attached-dsn': 'delivery-status report in an attached message',
  heuristic: 'MTA text patterns (no delivery-status report)',
  'auto-reply': 'auto-reply (RFC 3834 headers or subject)',
  'challenge-response': 'challenge-response',
  'feedback-report': 'feedback report (RFC 5965)',
  none: 'no bounce found',
};

function effect(r: BounceRecipient, counted: boolean): string {
  if (!counted) return r.action === 'delivered' || r.action === 'relayed' || r.action === 'expanded' ? 'none (not a failure)' : 'none (the message is not a bounce)';
  if (isPolicyRejection(r)) return "none for the member: a policy refusal of the list's mail (the owners are told)";
  return r.permanent ? 'counts as a permanent bounce' : 'counts as a temporary bounce';
}

export function verdictJson(report: BounceReport): unknown {
  return {
    isBounce: report.isBounce,
    method: report.method ?? report.kind,
    kind: report.kind,
    reason: report.reason,
    recipients: report.recipients.map((r) => ({ ...r, policy: isPolicyRejection(r) })),
  };
}

export function verdictText(report: BounceReport): string {
  const failed = (r: BounceRecipient) => r.action === 'failed' || r.action === 'delayed';
  const lines = [
    `bounce: ${report.isBounce ? 'yes' : 'no'}`,
    `method: ${report.method ?? report.kind} — ${METHOD_TEXT[report.method ?? report.kind] ?? ''}`,
    `why:    ${clean(truncate(report.reason, 300))}`,
  ];
  let text = `${lines.join('\n')}\n`;
  if (report.recipients.length === 0) {
    text += report.isBounce ? '\nno failed recipient could be read from it (a VERP return path still names the member)\n' : '';
    return text;
  }
  for (const r of report.recipients) {
    const counted = report.isBounce && failed(r);
    text += `\n${clean(r.address)}\n`;
    if (!failed(r)) {
      text += fields([['action', `${r.action} (not a failure)`], ['status', r.status ?? '—']]);
      continue;
    }
    text += fields([
      ['action', `${r.action} (${failed(r) ? (r.permanent ? 'permanent' : 'temporary') : 'not a failure'})`],
      ['reason', r.category ?? 'unknown'],
      ['policy', isPolicyRejection(r) ? 'yes' : 'no'],
      ['status', r.status ?? '—'],
      ['SMTP code', r.smtpCode === null ? '—' : String(r.smtpCode)],
      ['diagnostic', r.diagnostic ? clean(truncate(r.diagnostic, 400)) : '—'],
      ['effect', effect(r, counted)],
    ]);
  }
  return text;
}

export async function bouncesParse(ctx: Context, file: string, opts: { json?: boolean }): Promise<number> {
  const report = parseBounce(await readMessage(file));
  ctx.out(opts.json ? json(verdictJson(report)) : verdictText(report));
  return 0;
}
