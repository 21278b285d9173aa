// What a posting rule sees and says.
import type { AuthSummary } from '../authenticity.js';
import type { MessageFacts } from '../message.js';
import type { ListSettings, ModerationAction } from '../settings.js';

export type MemberModeration = 'default' | ModerationAction;

export interface RuleInput {
  facts: MessageFacts;
  list: { address: string; settings: ListSettings };
  /** What the roster says about the sender (From:, else Sender:). */
  poster: { address: string | null; isMember: boolean; moderation: MemberModeration | null };
  /** SPF, DKIM, DMARC and ARC results; null or absent when the post was not verified. */
  auth?: AuthSummary | null;
}

export interface RuleResult {
  hit: boolean;
  reason: string;
  /** For rules whose action depends on settings (member and nonmember moderation). */
  action?: ModerationAction;
}

export interface Rule {
  name: string;
  description: string;
  check(input: RuleInput): RuleResult;
}
