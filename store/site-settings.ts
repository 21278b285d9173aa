// Site-wide settings in the `site` key/value table (text values; lists as JSON).
import { resolveSiteSettings, SITE_SETTING_KEYS, siteValueText, type SiteSettings } from '../mail/site-settings.js';
import type { Queryable } from './db.js';

export async function loadSiteSettings(db: Queryable): Promise<SiteSettings> {
  const { rows } = await db.query<{ key: string; value: string }>('SELECT key, value FROM site WHERE key = ANY($1::text[])', [SITE_SETTING_KEYS]);
  return resolveSiteSettings(Object.fromEntries(rows.map((r) => [r.key, r.value])));
}

/** Which site settings are stored (not defaults). */
export async function storedSiteKeys(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ key: string }>('SELECT key FROM site WHERE key = ANY($1::text[])', [SITE_SETTING_KEYS]);
  return rows.map((r) => r.key);
}

/** Stores validated changes (upsert, one row per key). */
export async function saveSiteSettings(db: Queryable, changes: Partial<SiteSettings>): Promise<void> {
  for (const [key, value] of Object.entries(changes)) {
    await db.query('INSERT INTO site (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', [key, siteValueText(value)]);
  }
}
