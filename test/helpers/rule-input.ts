// RuleInput for pure rule and chain tests: a real .eml fixture and the context classifyPost would load.
import { readFacts } from '../../mail/message.js';
import { hashPassword } from '../../mail/password.js';
import { passwordCandidate } from '../../mail/approval-password.js';
import { storedAddressPattern } from '../../mail/patterns.js';
import type { MemberModeration, RuleInput } from '../../mail/rules/types.js';
import { defaultSettings, parseAssignments, type ListSettings } from '../../mail/settings.js';
import { defaultSiteSettings, type SiteSettings } from '../../mail/site-settings.js';
import { fixture } from './fixtures.js';

export const LIST = 'dev@lists.example.org';
export const PASSWORD = 's3cret-Pass';
/** Hashed once: scrypt is deliberately slow. */
const PASSWORD_HASH = hashPassword(PASSWORD);

export interface InputOptions {
  /** The sender's own moderation when a member; false (default) for a nonmember. */
  member?: MemberModeration | false;
  /** Settings as `lists set` takes them (key=value, key+=item). */
  set?: string[];
  settings?: Partial<ListSettings>;
  /** Lists (named as @list in the settings) the poster is a member of. */
  memberOf?: string[];
  site?: Partial<SiteSettings>;
  bans?: { list?: string[]; site?: string[] };
  /** Give the list the moderator password PASSWORD (default true). */
  password?: boolean;
  envelopeFrom?: string;
}

export function settingsFrom(set: string[] = [], extra: Partial<ListSettings> = {}): ListSettings {
  const { changes, problems } = parseAssignments(set, defaultSettings());
  if (problems.length) throw new Error(problems.join('; '));
  return { ...defaultSettings(), ...changes, ...extra };
}

export function inputFor(raw: Buffer, o: InputOptions = {}): RuleInput {
  const facts = readFacts(raw);
  const address = facts.from ?? facts.sender;
  const member = o.member ?? false;
  const settings = settingsFrom(o.set, { ...(o.password === false ? {} : { moderator_password: PASSWORD_HASH }), ...o.settings });
  return {
    facts,
    raw,
    envelopeFrom: o.envelopeFrom ?? address ?? '',
    list: { address: LIST, settings },
    poster: { address, isMember: member !== false, moderation: member === false ? null : member, memberOf: o.memberOf ?? [] },
    site: { ...defaultSiteSettings(), ...o.site },
    // As bansFor loads them: a stored row that no longer compiles is kept, and fails when used.
    bans: { list: (o.bans?.list ?? []).map(storedAddressPattern), site: (o.bans?.site ?? []).map(storedAddressPattern) },
    approvers: [],
    password: passwordCheck(facts, settings),
  };
}

/**
 * What classifyPost computes with scrypt before the chain (test/mail/approval-password.test.ts covers
 * that); here the list's password is PASSWORD, so a comparison gives the same answer without the KDF.
 */
function passwordCheck(facts: RuleInput['facts'], settings: ListSettings): RuleInput['password'] {
  if (!settings.moderator_password) return null;
  const candidate = passwordCandidate(facts, []);
  return candidate ? { where: candidate.where, ok: candidate.secret === PASSWORD } : null;
}

/** A fixture from test/fixtures/rules/ (or another folder when the name has a slash). */
export function input(file: string, o: InputOptions = {}): RuleInput {
  return inputFor(fixture(file.includes('/') ? file : `rules/${file}`), o);
}
