// What bounce processing makes of a parsed report: which members failed, and whether each failure counts
// (permanent, temporary), is the list's problem (policy), or is no bounce at all. Pure; the activity loads and stores.
import { isPolicyRejection, type BounceRecipient, type BounceReport } from './bounce.js';

export type BounceClassification = 'permanent' | 'temporary' | 'policy' | 'auto-reply' | 'not-bounce' | 'unrecognised';
/** How the member was found: the VERP token of the return path, the delivery-status report, the heuristics, an SMTP refusal. */
export type BounceMethod = 'verp' | 'dsn' | 'heuristic' | 'smtp' | 'none';

export interface MemberFailure {
  /** The member's address as subscribed. */
  address: string;
  classification: 'permanent' | 'temporary' | 'policy';
  method: BounceMethod;
  status: string | null;
  code: number | null;
  /** One line: the diagnostic, or what the report said. */
  reason: string;
}

export interface BounceVerdict {
  /** bounce: `failures` names members; the others name none that counts. */
  kind: 'bounce' | 'auto-reply' | 'not-bounce' | 'unrecognised';
  failures: MemberFailure[];
  /** The member an auto-reply to a VERP address came from (recorded, not counted). */
  autoReplyFrom: string | null;
  /** Failed recipients the report names that are not members of the list. */
  unmatched: string[];
  /** Forward the message to the owners (with `why`): nobody was identified, or it is not a bounce they can ignore. */
  forward: boolean;
  why: string;
}

export interface ClassifyInput {
  /** The member the VERP token names, if any. */
  verpMember: { address: string } | null;
  /** The member with this address (any case), as subscribed; null for a nonmember. */
  memberFor(address: string): string | null;
  /** The message is an RFC 5965 feedback (abuse) report. */
  feedbackReport: boolean;
}

const AUTO_REPLY = /auto-?repl|autorespond|vacation|out of (the )?office|abwesen|away from|absence|precedence: auto_reply|auto:/i;

/** Whether a bounce is the list's problem (a policy refusal), a permanent failure, or a temporary one. */
export function classifyRecipient(r: BounceRecipient): MemberFailure['classification'] {
  if (isPolicyRejection(r)) return 'policy';
  return r.permanent ? 'permanent' : 'temporary';
}

const oneLine = (text: string | null | undefined, max = 300): string =>
  // eslint-disable-next-line no-control-regex
  (text ?? '').replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim().slice(0, max);

function failureOf(address: string, r: BounceRecipient, method: BounceMethod): MemberFailure {
  return {
    address,
    classification: classifyRecipient(r),
    method,
    status: r.status,
    code: r.smtpCode,
    reason: oneLine(r.diagnostic) || `${r.action}${r.status ? ` (${r.status})` : ''}`,
  };
}

export function classifyBounce(report: BounceReport, input: ClassifyInput): BounceVerdict {
  const base = { failures: [] as MemberFailure[], autoReplyFrom: null, unmatched: [] as string[] };
  if (input.feedbackReport) {
    return { ...base, kind: 'not-bounce', forward: true, why: 'a feedback (abuse) report, not a bounce: a recipient marked list mail as spam' };
  }
  if (!report.isBounce) {
    // An auto-reply to a member's VERP address proves the mailbox is alive: recorded against the member, never counted.
    if (input.verpMember && AUTO_REPLY.test(report.reason)) {
      return { ...base, kind: 'auto-reply', autoReplyFrom: input.verpMember.address, forward: false, why: `an automatic reply from ${input.verpMember.address} (${oneLine(report.reason)}); not a bounce, not counted` };
    }
    return { ...base, kind: 'not-bounce', forward: true, why: `not recognised as a bounce: ${oneLine(report.reason)}` };
  }
  const failed = report.recipients.filter((r) => r.action === 'failed' || r.action === 'delayed');
  if (input.verpMember) {
    const member = input.verpMember.address;
    const own = failed.find((r) => r.address.toLowerCase() === member.toLowerCase()) ?? failed[0];
    // A VERP bounce names the member whatever the report says (it may name a forwarding target, or nobody).
    const failure: MemberFailure = own
      ? failureOf(member, own, 'verp')
      : { address: member, classification: 'permanent', method: 'verp', status: null, code: null, reason: oneLine(report.reason) };
    return { ...base, kind: 'bounce', failures: [failure], forward: false, why: `${failure.classification} failure for ${member} (VERP)` };
  }
  const failures: MemberFailure[] = [];
  const unmatched: string[] = [];
  const seen = new Set<string>();
  for (const r of failed) {
    const member = input.memberFor(r.address);
    if (!member) {
      if (!unmatched.includes(r.address)) unmatched.push(r.address);
      continue;
    }
    if (seen.has(member.toLowerCase())) continue;
    seen.add(member.toLowerCase());
    failures.push(failureOf(member, r, report.kind === 'dsn' ? 'dsn' : 'heuristic'));
  }
  if (failures.length === 0) {
    const why =
      unmatched.length > 0
        ? `a bounce naming no member of the list (${unmatched.slice(0, 5).join(', ')}${unmatched.length > 5 ? ', …' : ''})`
        : `a bounce naming no failed recipient (${oneLine(report.reason)})`;
    return { ...base, kind: 'unrecognised', unmatched, forward: true, why };
  }
  const summary = failures.map((f) => `${f.classification} failure for ${f.address}`).join('; ');
  return { ...base, kind: 'bounce', failures, unmatched, forward: false, why: `${summary} (${report.kind === 'dsn' ? 'delivery-status report' : 'bounce heuristics'})` };
}

/** A refusal during delivery (5xx at RCPT or DATA): permanent, or the list's problem when it is a policy refusal. */
export function classifySmtpRefusal(address: string, code: number | null, response: string): MemberFailure {
  const status = /\b([45]\.\d{1,3}\.\d{1,3})\b/.exec(response)?.[1] ?? null;
  const r: BounceRecipient = { address, action: 'failed', status, permanent: true, diagnostic: response, smtpCode: code };
  return failureOf(address, r, 'smtp');
}

/** The domain of an address, lower-case (for the owners' summary of policy refusals). */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/** RFC 5965 feedback reports: multipart/report; report-type=feedback-report. */
export function isFeedbackReport(contentType: string): boolean {
  return /multipart\/report/i.test(contentType) && /report-type\s*=\s*"?feedback-report/i.test(contentType);
}
