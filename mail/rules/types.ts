// What a posting rule sees and says. Everything a rule needs from the database is loaded into RuleInput by
// the classifying activity, so rules stay pure functions.
import type { AuthSummary } from '../authenticity.js';
import type { MessageFacts } from '../message.js';
import type { AddressPattern } from '../patterns.js';
import type { ListSettings, ModerationAction } from '../settings.js';
import type { SiteSettings } from '../site-settings.js';

export type MemberModeration = 'default' | ModerationAction;

/**
 * Checks the secret of an Approved:/Approve: header or first body line. Returns what it matched, for the
 * reason ("a moderator token issued to …"), or null. Cheap and synchronous (a moderator token's HMAC); the
 * moderator password is not one of these: its KDF runs before the chain (PasswordCheck).
 */
export type Approver = (secret: string) => string | null;

/** The moderator password against one Approved: secret, checked by the classifying activity (async, once per post). */
export interface PasswordCheck {
  /** Where the secret was, e.g. "the approved header". */
  where: string;
  ok: boolean;
}

export interface RuleInput {
  facts: MessageFacts;
  /** The SMTP MAIL FROM ('' for a null sender). */
  envelopeFrom: string;
  list: { address: string; settings: ListSettings };
  /** What the roster says about the sender (From:, else Sender:). */
  poster: {
    address: string | null;
    isMember: boolean;
    moderation: MemberModeration | null;
    /** Of the lists this list names as @list in its *_these_nonmembers, those the poster is a member of (lower-case). */
    memberOf: string[];
  };
  site: Pick<SiteSettings, 'header_matches'>;
  /** This list's bans and the site-wide ones. */
  bans: { list: AddressPattern[]; site: AddressPattern[] };
  approvers: Approver[];
  /** The moderator password's check, or null when the list has none or the post offers no secret to check. */
  password: PasswordCheck | null;
  /** SPF, DKIM, DMARC and ARC results; null or absent when the post was not verified. */
  auth?: AuthSummary | null;
  /** The raw message, for rules that look at its MIME structure (content-filter). */
  raw?: Buffer;
}

/** 'defer': record the hit and go on; the post is held at the end of the chain. */
export type RuleAction = ModerationAction | 'defer';

export interface RuleResult {
  hit: boolean;
  /** One line for people; the chain strips control characters whatever a rule returns. */
  reason: string;
  /** For rules whose action depends on settings (moderation, header rules). */
  action?: RuleAction;
}

export interface Rule {
  name: string;
  description: string;
  check(input: RuleInput): RuleResult;
}
