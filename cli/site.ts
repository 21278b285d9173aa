// `listflow site …`: site-wide settings (spam-header rules for every list, the daily auto-reply cap).
import { unusableItems, type SettingSpec } from '../mail/setting-kinds.js';
import { parseSiteAssignments, SITE_SETTING_KEYS, SITE_SETTINGS } from '../mail/site-settings.js';
import { transaction } from '../store/db.js';
import { loadSiteSettings, saveSiteSettings } from '../store/site-settings.js';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { settingRows } from './lists.js';
import { aligned, clean, json } from './output.js';

export async function siteShow(ctx: Context, opts: { json?: boolean }): Promise<void> {
  const settings = await loadSiteSettings(await ctx.db());
  if (opts.json) {
    ctx.out(json(settings));
    return;
  }
  ctx.out('site settings (change with: listflow site set key=value | key+=item | key-=item | key=)\n');
  ctx.out(aligned(settingRows(SITE_SETTINGS as unknown as Record<string, SettingSpec<unknown>>, settings as unknown as Record<string, unknown>), '  '));
  for (const problem of unusableItems(SITE_SETTINGS, settings)) ctx.warn(`note: ${clean(problem)}`);
}

export async function siteSet(ctx: Context, assignments: string[]): Promise<void> {
  const db = await ctx.db();
  const { settings, changes } = await transaction(db, async (client) => {
    // One editor at a time: += and -= read the current value first.
    await client.query('SELECT pg_advisory_xact_lock(7451002)');
    const current = await loadSiteSettings(client);
    const { changes, problems } = parseSiteAssignments(assignments, current);
    if (problems.length === 1) throw new CliError(`${problems[0]} (nothing was changed)`);
    if (problems.length > 1) throw new CliError(`${problems.join('\n')}\nnothing was changed`);
    await saveSiteSettings(client, changes);
    return { settings: { ...current, ...changes }, changes };
  });
  for (const key of SITE_SETTING_KEYS) {
    if (key in changes) ctx.out(`site: ${key} = ${clean(SITE_SETTINGS[key].show(settings[key] as never))}\n`);
  }
}
