// The posting chain: one ordered table of (rule, action) rows, and the verdict it gives.
import type { ModerationAction } from './settings.js';
import { loop } from './rules/loop.js';
import { maxSize } from './rules/max-size.js';
import { memberModeration } from './rules/member-moderation.js';
import { noSenders } from './rules/no-senders.js';
import { nonmemberModeration } from './rules/nonmember-moderation.js';
import { spoofedMember } from './rules/spoofed-member.js';
import type { Rule, RuleInput } from './rules/types.js';

/** 'from-rule': the rule names the action (member or nonmember settings); 'defer': note it, go on, hold at the end. */
export type ChainAction = ModerationAction | 'defer' | 'from-rule';

export interface ChainRow {
  rule: Rule;
  action: ChainAction;
}

export const POSTING_CHAIN: readonly ChainRow[] = [
  { rule: noSenders, action: 'discard' },
  { rule: loop, action: 'discard' },
  { rule: spoofedMember, action: 'hold' },
  { rule: memberModeration, action: 'from-rule' },
  { rule: nonmemberModeration, action: 'from-rule' },
  { rule: maxSize, action: 'defer' },
];

export interface RuleHit {
  rule: string;
  action: ChainAction;
  reason: string;
}

export interface Verdict {
  action: ModerationAction;
  hits: RuleHit[];
  misses: string[];
  /** One line for people: why the verdict is what it is. */
  summary: string;
}

export function runChain(input: RuleInput, chain: readonly ChainRow[] = POSTING_CHAIN): Verdict {
  const hits: RuleHit[] = [];
  const misses: string[] = [];
  for (const row of chain) {
    const result = row.rule.check(input);
    if (!result.hit) {
      misses.push(row.rule.name);
      continue;
    }
    const action = row.action === 'from-rule' ? (result.action ?? 'hold') : row.action;
    hits.push({ rule: row.rule.name, action, reason: result.reason });
    if (action !== 'defer') return { action, hits, misses, summary: result.reason };
  }
  if (hits.length > 0) return { action: 'hold', hits, misses, summary: hits.map((h) => h.reason).join('; ') };
  return { action: 'accept', hits, misses, summary: 'no rule held the post' };
}
