// The posting chain: one ordered table of (rule, action) rows, and the verdict it gives. Read top to
// bottom: the first row whose rule hits with an action other than defer decides; deferred hits are
// recorded and, if any, the post is held at the end; a post nothing stopped is accepted.
import type { ModerationAction } from './settings.js';
import { administrivia } from './rules/administrivia.js';
import { approved } from './rules/approved.js';
import { bannedAddress } from './rules/banned-address.js';
import { dmarcMitigation } from './rules/dmarc-mitigation.js';
import { contentFilter } from './rules/content-filter.js';
import { emergency } from './rules/emergency.js';
import { headerMatch } from './rules/header-match.js';
import { implicitDest } from './rules/implicit-dest.js';
import { loop } from './rules/loop.js';
import { maxRecipients } from './rules/max-recipients.js';
import { maxSize } from './rules/max-size.js';
import { memberModeration } from './rules/member-moderation.js';
import { noSenders } from './rules/no-senders.js';
import { noSubject } from './rules/no-subject.js';
import { nonmemberModeration } from './rules/nonmember-moderation.js';
import { spoofedMember } from './rules/spoofed-member.js';
import { suspiciousHeader } from './rules/suspicious-header.js';
import type { Rule, RuleAction, RuleInput } from './rules/types.js';

/** 'from-rule': the rule names the action (moderation settings, header rows); 'defer': note it, go on, hold at the end. */
export type ChainAction = ModerationAction | 'defer' | 'from-rule';

export interface ChainRow {
  rule: Rule;
  action: ChainAction;
}

export const POSTING_CHAIN: readonly ChainRow[] = [
  { rule: noSenders, action: 'discard' },
  { rule: approved, action: 'accept' },
  { rule: emergency, action: 'hold' },
  { rule: loop, action: 'discard' },
  { rule: spoofedMember, action: 'hold' },
  { rule: bannedAddress, action: 'discard' },
  { rule: dmarcMitigation, action: 'from-rule' },
  // Before the moderation rows: a post they accept would otherwise lose parts the list says to hold or reject for.
  { rule: contentFilter, action: 'from-rule' },
  { rule: memberModeration, action: 'from-rule' },
  { rule: headerMatch, action: 'from-rule' },
  { rule: nonmemberModeration, action: 'from-rule' },
  { rule: administrivia, action: 'defer' },
  { rule: implicitDest, action: 'defer' },
  { rule: maxRecipients, action: 'defer' },
  { rule: maxSize, action: 'defer' },
  { rule: noSubject, action: 'defer' },
  { rule: suspiciousHeader, action: 'defer' },
];

export interface RuleHit {
  rule: string;
  /** What the hit did: a final action, or defer. */
  action: RuleAction;
  reason: string;
}

export interface Verdict {
  action: ModerationAction;
  hits: RuleHit[];
  misses: string[];
  /** One line for people: why the verdict is what it is. */
  summary: string;
}

const MAX_REASON = 300;

/**
 * Reasons end up in mail headers and bodies (notices) and in terminals: one line, no control characters
 * (C0, C1, DEL, Unicode line separators), bounded — whatever a rule or a hostile message put in them.
 */
export function oneLine(text: string, max = MAX_REASON): string {
  // eslint-disable-next-line no-control-regex
  const flat = String(text).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/\s{2,}/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function runChain(input: RuleInput, chain: readonly ChainRow[] = POSTING_CHAIN): Verdict {
  const hits: RuleHit[] = [];
  const misses: string[] = [];
  let failed = false;
  for (const row of chain) {
    let result;
    try {
      result = row.rule.check(input);
    } catch (err) {
      // A rule that fails on some input (a stored pattern RE2 refuses, a bug) must not crash-loop the
      // activity: the post waits for a person instead.
      result = { hit: true, action: 'defer' as const, reason: `the rule failed: ${(err as Error)?.message ?? String(err)}` };
      hits.push({ rule: row.rule.name, action: 'defer', reason: oneLine(result.reason) });
      failed = true;
      continue;
    }
    if (!result.hit) {
      misses.push(row.rule.name);
      continue;
    }
    const action: RuleAction = row.action === 'from-rule' ? (result.action ?? 'hold') : row.action;
    const reason = oneLine(result.reason);
    hits.push({ rule: row.rule.name, action, reason });
    // After a failed rule nothing may accept: the failed one (a ban, a discard row) might have stopped the
    // post. Stopping it (hold, reject, discard) is still right; an accept is recorded and the post is held.
    if (action === 'accept' && failed) continue;
    if (action !== 'defer') return { action, hits, misses, summary: reason };
  }
  if (hits.length > 0) return { action: 'hold', hits, misses, summary: oneLine(hits.map((h) => h.reason).join('; '), 1000) };
  return { action: 'accept', hits, misses, summary: 'no rule held the post' };
}
