// Sender authenticity as listflow records it: a compact, JSON-safe summary of mailauth's SPF, DKIM, DMARC and
// ARC results (it travels through workflow history and the status query), and the Authentication-Results value.
import libmime from 'libmime';
import type { AuthenticateResult } from 'mailauth';

/** RFC 8601 result words (mailauth's occasional "temperr" is read as temperror). */
export type AuthResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror' | 'policy' | 'skipped';

export interface DkimSignatureSummary {
  /** d= of the signature. */
  domain: string;
  selector: string | null;
  result: AuthResult;
  /** The signing domain aligns with the From domain (relaxed). */
  aligned: boolean;
}

export interface AuthSummary {
  /** The authserv-id the results are recorded under: the list's domain. */
  authservId: string;
  spf: { result: AuthResult; domain: string | null; clientIp: string | null; helo: string | null };
  /** result: pass when any signature passes, else the first signature's result, none when unsigned. */
  dkim: { result: AuthResult; signatures: DkimSignatureSummary[]; more: number };
  /** spfAligned / dkimAligned: the domain that gave DMARC alignment, or null. */
  dmarc: { result: AuthResult; fromDomain: string | null; policy: string | null; spfAligned: string | null; dkimAligned: string | null };
  arc: { result: AuthResult; instance: number | null };
  /** The Authentication-Results value (after "Authentication-Results: ") that members receive, folded. */
  header: string;
  /** Set when verification could not run on this message at all; the results are then permerror. */
  error?: string;
}

/** A hostile message may carry hundreds of signatures; the summary and the header keep the first few. */
const MAX_SIGNATURES = 10;

const RESULTS = new Set<string>(['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', 'policy', 'skipped']);

function resultOf(value: unknown): AuthResult {
  const word = String(value ?? 'none').toLowerCase();
  if (word === 'temperr') return 'temperror';
  return RESULTS.has(word) ? (word as AuthResult) : 'permerror';
}

function text(value: unknown, max = 255): string | null {
  if (typeof value !== 'string' || value === '') return null;
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, max);
}

/** One header value from result rows, folded as mailauth folds them (RFC 8601 §2.2 method results, ';'-separated). */
function headerValue(authservId: string, rows: string[]): string {
  // Rows can quote what a client sent (HELO, MAIL FROM); line breaks in them would end the header early.
  const clean = rows.map((r) => libmime.foldLines(r.replace(/\r?\n[ \t]*/g, ' ').replace(/[\r\n]/g, ''), 160, true).trim());
  return [`${authservId}`, ...clean].join(';\r\n ');
}

export function summarize(result: AuthenticateResult, authservId: string): AuthSummary {
  const spf = result.spf || null;
  const rows = (result.dkim?.results ?? []).filter((r) => r && r.status);
  const signed = rows.filter((r) => r.signingDomain);
  const signatures: DkimSignatureSummary[] = signed.slice(0, MAX_SIGNATURES).map((r) => ({
    domain: text(r.signingDomain) ?? '',
    selector: text(r.selector),
    result: resultOf(r.status.result),
    aligned: Boolean(r.status.aligned),
  }));
  const dkimResult: AuthResult = signed.some((r) => resultOf(r.status.result) === 'pass')
    ? 'pass'
    : signed[0]
      ? resultOf(signed[0].status.result)
      : 'none';
  const dmarc = result.dmarc || null;
  const arc = result.arc || null;
  const headerRows = [
    ...rows.slice(0, MAX_SIGNATURES).map((r) => r.info),
    ...(spf ? [spf.info] : []),
    ...(arc?.info ? [arc.info] : []),
    ...(dmarc?.info ? [dmarc.info] : []),
  ].filter((r): r is string => typeof r === 'string' && r !== '');
  return {
    authservId,
    spf: {
      result: resultOf(spf?.status?.result),
      domain: text(spf?.domain),
      clientIp: text(spf?.['client-ip']),
      helo: text(spf?.helo),
    },
    dkim: { result: dkimResult, signatures, more: Math.max(0, signed.length - MAX_SIGNATURES) },
    dmarc: {
      result: resultOf(dmarc?.status?.result),
      fromDomain: text(dmarc?.domain),
      policy: text(dmarc?.policy),
      spfAligned: text(dmarc?.alignment?.spf?.result),
      dkimAligned: text(dmarc?.alignment?.dkim?.result),
    },
    arc: { result: resultOf(arc?.status?.result), instance: arc && typeof arc.i === 'number' ? arc.i : null },
    header: headerValue(authservId, headerRows),
  };
}

/** The summary of a message mailauth could not process: every method permerror, the reason kept. */
export function failedSummary(authservId: string, error: string, clientIp: string | null, helo: string | null): AuthSummary {
  const reason = text(error, 200) ?? 'unknown error';
  return {
    authservId,
    spf: { result: 'permerror', domain: null, clientIp, helo },
    dkim: { result: 'permerror', signatures: [], more: 0 },
    dmarc: { result: 'permerror', fromDomain: null, policy: null, spfAligned: null, dkimAligned: null },
    arc: { result: 'permerror', instance: null },
    header: headerValue(authservId, [`dkim=permerror`, `spf=permerror`, `dmarc=permerror (${reason.replace(/[()\\]/g, ' ')})`]),
    error: reason,
  };
}
