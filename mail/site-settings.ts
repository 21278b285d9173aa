// Site-wide settings (the `site` table, one text value per key): spam-header rules for every list, the
// daily cap on automatic replies to one address, and how long the prune workflow keeps what mail leaves behind.
import { parseHeaderRule, storedHeaderRule } from './header-rules.js';
import { wholeNumber } from './settings.js';
import { applyAssignments, list, resolveWith, scalar, type SpecTable } from './setting-kinds.js';

export interface SiteSettings {
  header_matches: string[];
  autoreply_daily_limit: number;
  retention_raw_days: number;
  retention_ledger_days: number;
  retention_inbound_days: number;
  retention_bounce_events_days: number;
  prune_interval_hours: number;
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
  // Retention, counted from when the message's workflow finished (never while it runs); 0 keeps for ever.
  retention_raw_days: scalar('retention_raw_days', 14, 'days a message as received is kept after its workflow finished (archived posts stay in the archive); 0: for ever', wholeNumber(0, 36500)),
  retention_ledger_days: scalar('retention_ledger_days', 30, "days a finished post's delivery ledger, post row and digest issues are kept; 0: for ever", wholeNumber(0, 36500)),
  retention_inbound_days: scalar('retention_inbound_days', 30, "days the record of accepted mail (no second post for the same bytes) is kept after its workflow finished; never less than Temporal's namespace retention", wholeNumber(1, 36500)),
  retention_bounce_events_days: scalar('retention_bounce_events_days', 90, 'days recorded bounces are kept; 0: for ever', wholeNumber(0, 36500)),
  prune_interval_hours: scalar('prune_interval_hours', 6, 'hours between two runs of the prune/site workflow', wholeNumber(1, 168)),
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
