// Site-wide settings (the `site` table, one text value per key): spam-header rules for every list, and the
// daily cap on automatic replies to one address.
import { parseHeaderRule, storedHeaderRule } from './header-rules.js';
import { wholeNumber } from './settings.js';
import { applyAssignments, list, resolveWith, scalar, type SpecTable } from './setting-kinds.js';

export interface SiteSettings {
  header_matches: string[];
  autoreply_daily_limit: number;
}

/**
 * SpamAssassin (and rspamd in its SpamAssassin-compatible mode) marks spam with `X-Spam-Flag: YES`; most
 * MTAs in front of a list run one. Held, not discarded: a filter's false positive then costs a moderator a
 * click instead of losing a member's post, and a member whose own moderation is `accept` still gets through.
 */
export const DEFAULT_SITE_HEADER_MATCHES = ['X-Spam-Flag: ^\\s*yes\\b -> hold'];

export const SITE_SETTINGS: SpecTable<SiteSettings> = {
  header_matches: list(
    'header_matches',
    'site-wide "Header: regex -> action" rules, checked after each list\'s own',
    (text) => parseHeaderRule(text, true).text,
    DEFAULT_SITE_HEADER_MATCHES,
    // Kept when it no longer compiles: the header-match rule then holds the post and says why.
    (text) => storedHeaderRule(text, true).text,
  ),
  autoreply_daily_limit: scalar('autoreply_daily_limit', 10, 'automatic replies (held/rejected notices…) to one address per day', wholeNumber(0, 100000)),
};

export const SITE_SETTING_KEYS = Object.keys(SITE_SETTINGS) as (keyof SiteSettings)[];

export function defaultSiteSettings(): SiteSettings {
  return resolveWith(SITE_SETTINGS, {});
}

/** From the `site` table's rows (key → text); junk falls back to the default. */
export function resolveSiteSettings(rows: Record<string, string>): SiteSettings {
  return resolveWith(SITE_SETTINGS, rows);
}

export function parseSiteAssignments(assignments: string[], current: SiteSettings): { changes: Partial<SiteSettings>; problems: string[] } {
  return applyAssignments(SITE_SETTINGS, current, assignments);
}

/** How a value is kept in the `site` table: text, lists as JSON (other code reads autoreply_daily_limit as a number in text). */
export function siteValueText(value: unknown): string {
  return Array.isArray(value) ? JSON.stringify(value) : String(value);
}
