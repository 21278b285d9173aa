// List settings: every key, its default, what it means, and how a value given as text is validated.
import { AddressError, normalizeAddress } from './address.js';
import { TEMPLATE_VARIABLES, unknownVariables } from './decoration/context.js';
import { parseHeaderRule, storedHeaderRule } from './header-rules.js';
import { parseAddressPattern, storedAddressPattern } from './patterns.js';
import {
  applyAssignment,
  applyAssignments,
  list,
  resolveWith,
  scalar,
  secret,
  SettingError,
  type SettingSpec,
  type SpecTable,
} from './setting-kinds.js';

export { SettingError };

export type ModerationAction = 'accept' | 'hold' | 'reject' | 'discard';
/** Mailman 3's "defer": the moderation rule does not decide; the rest of the chain does. */
export type MemberAction = ModerationAction | 'defer';
export type DeliveryMode = 'bulk' | 'per-recipient';
export type ReplyGoesToList = 'none' | 'list' | 'explicit';
export type FilterAction = 'discard' | 'reject' | 'hold';
export type Personalize = 'none' | 'individual' | 'full';

export interface ListSettings {
  description: string;
  emergency: boolean;
  moderator_password: string;
  nonmember_action: ModerationAction;
  default_member_action: MemberAction;
  accept_these_nonmembers: string[];
  hold_these_nonmembers: string[];
  reject_these_nonmembers: string[];
  discard_these_nonmembers: string[];
  header_matches: string[];
  bounce_matching_headers: string[];
  acceptable_aliases: string[];
  require_explicit_destination: boolean;
  max_num_recipients: number;
  administrivia: boolean;
  max_message_size_kb: number;
  max_hold_days: number;
  hold_expiry_action: 'discard' | 'reject';
  notify_held_sender: boolean;
  delivery_mode: DeliveryMode;
  bulk_max_recipients: number;
  per_recipient_batch: number;
  delivery_retry_days: number;
  delivery_retry_wait_seconds: number;
  delivery_retry_max_wait_seconds: number;
  hold_spoofed_members: boolean;
  archive_policy: 'public' | 'private' | 'never';
  digests_enabled: boolean;
  digest_size_threshold: number;
  digest_period: DigestPeriod;
  digest_volume_frequency: DigestVolumeFrequency;
  dmarc_mitigate_action: DmarcMitigateAction;
  dmarc_mitigate_unconditionally: boolean;
  dmarc_moderation_notice: string;
  dmarc_wrapped_message_text: string;
  subject_prefix: string;
  msg_header: string;
  msg_footer: string;
  reply_goes_to_list: ReplyGoesToList;
  reply_to_address: string;
  first_strip_reply_to: boolean;
  filter_content: boolean;
  filter_types: string[];
  pass_types: string[];
  filter_extensions: string[];
  pass_extensions: string[];
  collapse_alternatives: boolean;
  convert_html_to_plaintext: boolean;
  filter_action: FilterAction;
  personalize: Personalize;
  subscription_policy: SubscriptionPolicy;
  unsubscription_policy: SubscriptionPolicy;
  pending_request_days: number;
  send_welcome_message: boolean;
  send_goodbye_message: boolean;
  welcome_message: string;
  goodbye_message: string;
  member_roster_visibility: RosterVisibility;
  process_bounces: boolean;
  bounce_score_threshold: number;
  bounce_temporary_score: number;
  bounce_info_stale_after: number;
  bounce_you_are_disabled_warnings: number;
  bounce_you_are_disabled_warnings_interval: number;
  bounce_notify_owner_on_disable: boolean;
  bounce_notify_owner_on_removal: boolean;
}

/** Mailman 3's subscription and unsubscription policies. */
export type SubscriptionPolicy = 'open' | 'confirm' | 'moderate' | 'confirm_then_moderate';
/** Who may see the roster (the `who` command): Mailman 3's member_roster_visibility. */
export type RosterVisibility = 'public' | 'members' | 'moderators';

export type DigestPeriod = 'daily' | 'weekly' | 'monthly';
export type DigestVolumeFrequency = 'yearly' | 'quarterly' | 'monthly' | 'weekly' | 'daily';

/** Mailman 3's names: what to do with a post whose From domain asks receivers to quarantine or reject. */
export type DmarcMitigateAction = 'no_mitigation' | 'munge_from' | 'wrap_message' | 'reject' | 'discard';

export function oneOf<T extends string>(...choices: T[]): (text: string) => T {
  return (text) => {
    if (!(choices as string[]).includes(text)) throw new SettingError(`must be one of ${choices.join(', ')}`);
    return text as T;
  };
}

export function wholeNumber(min: number, max: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new SettingError(`must be a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

/** A number with up to two decimals, e.g. a bounce score. */
export function decimal(min: number, max: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^\d+(\.\d{1,2})?$/.test(text.trim()) || n < min || n > max) throw new SettingError(`must be a number from ${min} to ${max} (at most two decimals)`);
    return n;
  };
}

export function boolean(text: string): boolean {
  if (['true', 'yes', 'on', '1'].includes(text.toLowerCase())) return true;
  if (['false', 'no', 'off', '0'].includes(text.toLowerCase())) return false;
  throw new SettingError('must be true or false');
}

function shortText(text: string): string {
  if (text.length > 1000 || /[\r\n]/.test(text)) throw new SettingError('must be one line of at most 1000 characters');
  return text;
}

const moderationAction = oneOf<ModerationAction>('accept', 'hold', 'reject', 'discard');

/** An item of the *_these_nonmembers lists: an address, a ^regex, or @list@domain (the members of that list). */
export function nonmemberItem(text: string): string {
  const t = text.trim();
  if (t.startsWith('@')) {
    try {
      return `@${normalizeAddress(t.slice(1)).toLowerCase()}`;
    } catch (err) {
      if (err instanceof AddressError) throw new SettingError(`"${t}": @ must be followed by a list address (${err.message})`);
      throw err;
    }
  }
  return parseAddressPattern(t).text;
}

/** A stored *_these_nonmembers item: kept even when its ^regex no longer compiles (the rule then reports it). */
function storedNonmemberItem(text: string): string {
  return text.trim().startsWith('@') ? nonmemberItem(text) : storedAddressPattern(text).text;
}

/** A msg_header/msg_footer template: one line ("\\n" for line breaks), known {variables} only. */
function template(text: string): string {
  if (text.length > 4000 || /[\r\n]/.test(text)) throw new SettingError('must be one line of at most 4000 characters (write \\n for a line break)');
  const unknown = unknownVariables(text);
  if (unknown.length) throw new SettingError(`unknown variable {${unknown.join('}, {')}}; known: {${Object.keys(TEMPLATE_VARIABLES).join('}, {')}}`);
  return text;
}

function optionalAddress(text: string): string {
  if (!text.trim()) return '';
  try {
    return normalizeAddress(text.trim());
  } catch (err) {
    if (err instanceof AddressError) throw new SettingError(`"${text}" is not an address (${err.message})`);
    throw err;
  }
}

function mimeType(text: string): string {
  const t = text.trim().toLowerCase();
  if (!/^[a-z0-9][a-z0-9!#$&^_.+-]*(\/([a-z0-9][a-z0-9!#$&^_.+-]*|\*))?$/.test(t)) throw new SettingError(`"${text}" is not a MIME type (type/subtype, or a major type such as image)`);
  return t;
}

function extension(text: string): string {
  const t = text.trim().toLowerCase().replace(/^\./, '');
  if (!/^[a-z0-9][a-z0-9_+-]{0,30}$/.test(t)) throw new SettingError(`"${text}" is not a file name extension`);
  return t;
}

const addressPattern = (text: string) => parseAddressPattern(text).text;
const headerMatch = (text: string) => parseHeaderRule(text, true).text;
const suspiciousHeader = (text: string) => parseHeaderRule(text, false).text;
// Stored pattern items are kept even when they no longer compile: the rule that meets one holds the post and says why.
const storedAddress = (text: string) => storedAddressPattern(text).text;
const storedHeaderMatch = (text: string) => storedHeaderRule(text, true).text;
const storedSuspiciousHeader = (text: string) => storedHeaderRule(text, false).text;

/** Every list setting, in the order `lists show` prints them. */
export const SETTINGS: SpecTable<ListSettings> = {
  description: scalar('description', '', 'one line saying what the list is for', shortText),
  emergency: scalar('emergency', false, 'hold every post for a moderator (unless approved with the password)', boolean),
  moderator_password: secret('moderator_password', 'a post with "Approved: <password>" (header or first body line) is accepted'),
  nonmember_action: scalar('nonmember_action', 'hold' as ModerationAction, 'what happens to a post from an address that is not a member', moderationAction),
  default_member_action: scalar(
    'default_member_action',
    'defer' as MemberAction,
    "for members whose moderation is 'default'; defer: the rest of the chain decides",
    oneOf<MemberAction>('defer', 'accept', 'hold', 'reject', 'discard'),
  ),
  accept_these_nonmembers: list('accept_these_nonmembers', 'nonmembers accepted at once: address, ^regex or @list@domain', nonmemberItem, [], storedNonmemberItem),
  hold_these_nonmembers: list('hold_these_nonmembers', 'nonmembers always held: address, ^regex or @list@domain', nonmemberItem, [], storedNonmemberItem),
  reject_these_nonmembers: list('reject_these_nonmembers', 'nonmembers rejected with a notice: address, ^regex or @list@domain', nonmemberItem, [], storedNonmemberItem),
  discard_these_nonmembers: list('discard_these_nonmembers', 'nonmembers discarded silently: address, ^regex or @list@domain', nonmemberItem, [], storedNonmemberItem),
  header_matches: list('header_matches', '"Header: regex -> accept|hold|reject|discard|defer" (default defer)', headerMatch, [], storedHeaderMatch),
  bounce_matching_headers: list('bounce_matching_headers', '"Header: regex": a matching post is held (suspicious-header)', suspiciousHeader, [], storedSuspiciousHeader),
  acceptable_aliases: list('acceptable_aliases', 'other addresses (or ^regex) in To/Cc that count as naming the list', addressPattern, [], storedAddress),
  require_explicit_destination: scalar('require_explicit_destination', true, 'hold a post whose To/Cc name neither the list nor an alias', boolean),
  max_num_recipients: scalar('max_num_recipients', 10, 'hold a post with this many To/Cc addresses or more (0: no limit)', wholeNumber(0, 100000)),
  administrivia: scalar('administrivia', true, 'hold a short post that looks like a subscribe/unsubscribe/help request', boolean),
  hold_spoofed_members: scalar('hold_spoofed_members', false, 'hold a post whose From is a member but which fails DMARC, or both SPF and DKIM (recommended)', boolean),
  max_message_size_kb: scalar('max_message_size_kb', 40, 'posts larger than this many KiB are held (0: no limit)', wholeNumber(0, 1024 * 1024)),
  max_hold_days: scalar('max_hold_days', 7, 'days a held post waits for a moderator before the expiry action', wholeNumber(1, 365)),
  hold_expiry_action: scalar('hold_expiry_action', 'discard', 'what happens to a held post nobody acted on (the sender is told either way)', oneOf('discard', 'reject')),
  notify_held_sender: scalar('notify_held_sender', true, 'tell the poster that a post awaits moderation', boolean),
  delivery_mode: scalar('delivery_mode', 'bulk', 'bulk: many recipients per SMTP transaction; per-recipient: one each, with a VERP return path', oneOf<DeliveryMode>('bulk', 'per-recipient')),
  bulk_max_recipients: scalar('bulk_max_recipients', 500, 'recipients per SMTP transaction in bulk mode', wholeNumber(1, 10000)),
  per_recipient_batch: scalar('per_recipient_batch', 1000, 'recipients handled by one delivery activity in per-recipient mode', wholeNumber(1, 100000)),
  delivery_retry_days: scalar('delivery_retry_days', 5, 'days a temporarily failing recipient is retried before it counts as failed', wholeNumber(0, 60)),
  delivery_retry_wait_seconds: scalar('delivery_retry_wait_seconds', 900, 'first wait before a temporary failure is retried; doubles each round', wholeNumber(1, 86400)),
  delivery_retry_max_wait_seconds: scalar('delivery_retry_max_wait_seconds', 4 * 3600, 'longest wait between two delivery retries', wholeNumber(1, 7 * 86400)),
  archive_policy: scalar('archive_policy', 'public', 'public: anyone may read the archive; private: members only; never: posts are not archived', oneOf('public', 'private', 'never')),
  // Mailman 3 names; `digestable` there is digests_enabled here.
  digests_enabled: scalar('digests_enabled', true, 'members may choose digest delivery (mime_digest or plain_digest)', boolean),
  digest_size_threshold: scalar('digest_size_threshold', 30, 'send a digest as soon as its posts pass this many KB (0: only when the period ends)', wholeNumber(0, 100_000)),
  digest_period: scalar('digest_period', 'daily' as DigestPeriod, 'send a digest of what is pending when this period ends (monthly: 30 days)', oneOf<DigestPeriod>('daily', 'weekly', 'monthly')),
  digest_volume_frequency: scalar(
    'digest_volume_frequency',
    'monthly' as DigestVolumeFrequency,
    'start a new digest volume (issue numbers from 1) each calendar year, quarter, month, week or day (UTC)',
    oneOf<DigestVolumeFrequency>('yearly', 'quarterly', 'monthly', 'weekly', 'daily'),
  ),
  dmarc_mitigate_action: scalar(
    'dmarc_mitigate_action',
    'munge_from' as DmarcMitigateAction,
    'for a From domain with DMARC p=quarantine/reject: munge_from, wrap_message, reject, discard or no_mitigation',
    oneOf<DmarcMitigateAction>('no_mitigation', 'munge_from', 'wrap_message', 'reject', 'discard'),
  ),
  dmarc_mitigate_unconditionally: scalar('dmarc_mitigate_unconditionally', false, 'munge_from/wrap_message every post, whatever its From domain publishes', boolean),
  dmarc_moderation_notice: scalar('dmarc_moderation_notice', '', 'the reason given to a poster rejected by dmarc_mitigate_action=reject (default: a standard text)', shortText),
  dmarc_wrapped_message_text: scalar('dmarc_wrapped_message_text', '', 'a text part put before the original in a wrap_message wrapper', shortText),
  subject_prefix: scalar('subject_prefix', '[{display_name}] ', 'put in front of the Subject, once ({display_name}, {list}; %d: the post number; empty: none)', (t) => shortText(t).slice(0, 100)),
  msg_header: scalar('msg_header', '', 'text added at the top of each post ({variables}, \\n for a line break)', template),
  msg_footer: scalar('msg_footer', '', 'text added at the end of each post ({member}, {unsubscribe_url}, {list}, … ; per member with per-recipient delivery)', template),
  reply_goes_to_list: scalar('reply_goes_to_list', 'none' as ReplyGoesToList, 'Reply-To munging: none, list (the list address) or explicit (reply_to_address)', oneOf<ReplyGoesToList>('none', 'list', 'explicit')),
  reply_to_address: scalar('reply_to_address', '', 'the Reply-To for reply_goes_to_list=explicit', optionalAddress),
  first_strip_reply_to: scalar('first_strip_reply_to', false, "remove the poster's Reply-To before munging", boolean),
  filter_content: scalar('filter_content', false, 'filter MIME parts by the settings below (off: posts go out as they came)', boolean),
  filter_types: list('filter_types', 'MIME types (or major types) taken out of posts', mimeType),
  pass_types: list('pass_types', 'when set, only parts of these MIME types are kept', mimeType),
  filter_extensions: list('filter_extensions', 'file name extensions taken out of posts', extension),
  pass_extensions: list('pass_extensions', 'when set, only attachments with these extensions are kept', extension),
  collapse_alternatives: scalar('collapse_alternatives', true, 'with filter_content: multipart/alternative becomes its first part', boolean),
  convert_html_to_plaintext: scalar('convert_html_to_plaintext', false, 'with filter_content: text/html parts become text/plain', boolean),
  filter_action: scalar('filter_action', 'discard' as FilterAction, 'when filtering would take parts out: discard (them), reject or hold the post', oneOf<FilterAction>('discard', 'reject', 'hold')),
  personalize: scalar('personalize', 'full' as Personalize, 'per-recipient delivery: full (To, one-click List-Unsubscribe, msg_footer per member), individual (the same but To), none (identical copies)', oneOf<Personalize>('full', 'individual', 'none')),
  subscription_policy: scalar('subscription_policy', 'confirm' as SubscriptionPolicy, 'joining: open, confirm (the address confirms by mail or link), moderate (a moderator approves) or confirm_then_moderate', oneOf<SubscriptionPolicy>('open', 'confirm', 'moderate', 'confirm_then_moderate')),
  unsubscription_policy: scalar('unsubscription_policy', 'confirm' as SubscriptionPolicy, 'leaving by mail or web: open, confirm, moderate or confirm_then_moderate (one-click links and owners need no confirmation)', oneOf<SubscriptionPolicy>('open', 'confirm', 'moderate', 'confirm_then_moderate')),
  pending_request_days: scalar('pending_request_days', 3, 'days a subscription request waits for its confirmation or a moderator before it expires', wholeNumber(1, 60)),
  send_welcome_message: scalar('send_welcome_message', true, 'send new members the welcome message', boolean),
  send_goodbye_message: scalar('send_goodbye_message', true, 'send members who leave the goodbye message', boolean),
  welcome_message: scalar('welcome_message', '', 'text of the welcome message ({variables}, \\n for a line break; empty: a standard text)', template),
  goodbye_message: scalar('goodbye_message', '', 'text of the goodbye message ({variables}, \\n for a line break; empty: a standard text)', template),
  member_roster_visibility: scalar('member_roster_visibility', 'moderators' as RosterVisibility, 'who may get the member list with the "who" command: public, members or moderators', oneOf<RosterVisibility>('public', 'members', 'moderators')),
  process_bounces: scalar('process_bounces', true, 'score bounces against members (off: bounces are only recorded and forwarded to the owners)', boolean),
  bounce_score_threshold: scalar('bounce_score_threshold', 5, "a member's delivery is disabled when the bounce score reaches this", wholeNumber(1, 1000)),
  bounce_temporary_score: scalar('bounce_temporary_score', 0, 'what a temporary failure (4.x.x, delayed) adds to the score; a permanent one adds 1', decimal(0, 1)),
  bounce_info_stale_after: scalar('bounce_info_stale_after', 7, 'days after the last bounce when the score starts again from zero', wholeNumber(1, 365)),
  bounce_you_are_disabled_warnings: scalar('bounce_you_are_disabled_warnings', 3, 'warnings a member disabled by bounces gets before removal (0: removed at once)', wholeNumber(0, 100)),
  bounce_you_are_disabled_warnings_interval: scalar('bounce_you_are_disabled_warnings_interval', 7, 'days between those warnings, and from the last one to removal', wholeNumber(1, 365)),
  bounce_notify_owner_on_disable: scalar('bounce_notify_owner_on_disable', true, "tell the owners when a member's delivery is disabled by bounces", boolean),
  bounce_notify_owner_on_removal: scalar('bounce_notify_owner_on_removal', true, 'tell the owners when a member is removed for bouncing', boolean),
};

export const SETTING_KEYS = Object.keys(SETTINGS) as (keyof ListSettings)[];

export function defaultSettings(): ListSettings {
  const out: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) out[key] = SETTINGS[key].default;
  return out as unknown as ListSettings;
}

export function isSettingKey(key: string): key is keyof ListSettings {
  return Object.prototype.hasOwnProperty.call(SETTINGS, key);
}

/**
 * Parses one assignment over the defaults: `key=value`, and for list settings `key+=item`, `key-=item`,
 * `key=` (clear). Throws SettingError naming the key and the reason. One argument, so `.map(parseAssignment)` works.
 */
export function parseAssignment(assignment: string): Partial<ListSettings> {
  return applyAssignment(SETTINGS, defaultSettings(), assignment);
}

/** Assignments in order, each seeing the ones before (two += of one key both count); all problems collected. */
export function parseAssignments(assignments: string[], current: ListSettings = defaultSettings()): { changes: Partial<ListSettings>; problems: string[] } {
  return applyAssignments(SETTINGS, current, assignments);
}

/** Merges stored overrides over the defaults, ignoring (never trusting) anything that fails validation. */
export function resolveSettings(stored: Record<string, unknown>): ListSettings {
  return resolveWith(SETTINGS, stored ?? {});
}

export function settingSpec(key: keyof ListSettings): SettingSpec<unknown> {
  return SETTINGS[key] as SettingSpec<unknown>;
}
