// `listflow lists …`: create, list, show, set and delete mailing lists.
import { AddressError, normalizeAddress } from '../mail/address.js';
import { parseAssignments, SETTING_KEYS, SETTINGS, settingSpec, type ListSettings } from '../mail/settings.js';
import { isDefault, redacted, unusableItems, type SettingSpec } from '../mail/setting-kinds.js';
import { transaction } from '../store/db.js';
import { allLists, createList, deleteList, existingLists, getList, ListExistsError, updateSettings, type List } from '../store/lists.js';
import { addMembers, countByRole } from '../store/members.js';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { aligned, clean, count, fields, json, table, when } from './output.js';

function address(text: string, what: string): string {
  try {
    return normalizeAddress(text);
  } catch (err) {
    if (err instanceof AddressError) throw new CliError(`${what}: ${err.message}`);
    throw err;
  }
}

/** The list or a clear error; lists are looked up as typed, case-insensitively. */
export async function requireList(ctx: Context, text: string): Promise<List> {
  const list = await getList(await ctx.db(), text);
  if (!list) throw new CliError(`there is no list ${text.trim().toLowerCase()} (see: listflow lists list)`);
  return list;
}

export async function listsCreate(ctx: Context, text: string, opts: { name?: string; owner?: string[] }): Promise<void> {
  const listAddress = address(text, 'the list address');
  const owners = [...new Set((opts.owner ?? []).map((o) => address(o, 'an owner')))];
  const db = await ctx.db();
  let list: List;
  try {
    list = await transaction(db, async (client) => {
      const created = await createList(client, listAddress, opts.name);
      await addMembers(client, created.id, owners, 'owner');
      return created;
    });
  } catch (err) {
    if (err instanceof ListExistsError) throw new CliError(err.message);
    throw err;
  }
  ctx.out(`created list ${list.address} (${clean(list.displayName)})${owners.length ? `, owned by ${owners.join(', ')}` : ''}\n`);
}

export async function listsList(ctx: Context, opts: { json?: boolean }): Promise<void> {
  const lists = await allLists(await ctx.db());
  if (opts.json) {
    ctx.out(json(lists.map((l) => ({ address: l.address, name: l.displayName, members: l.members, createdAt: l.createdAt, settings: redacted(SETTINGS, l.overrides) }))));
    return;
  }
  if (lists.length === 0) {
    ctx.out('no lists yet (create one: listflow lists create <address> --owner <you>)\n');
    return;
  }
  ctx.out(table(['LIST', 'NAME', 'MEMBERS', 'CREATED'], lists.map((l) => [l.address, clean(l.displayName), String(l.members), when(l.createdAt)])));
}

function showValue(key: keyof ListSettings, value: unknown): string {
  return clean(settingSpec(key).show(value));
}

/** Settings as rows for people: a list prints one item a line under its key. */
export function settingRows(specs: Record<string, SettingSpec<unknown>>, values: Record<string, unknown>): string[][] {
  const rows: string[][] = [];
  for (const [key, spec] of Object.entries(specs)) {
    const value = values[key];
    const marker = isDefault(spec, value) ? '(default)' : `(default: ${clean(spec.show(spec.default))})`;
    if (spec.kind === 'list' && Array.isArray(value) && value.length > 1) {
      rows.push([key, clean(String(value[0])), marker]);
      for (const item of value.slice(1)) rows.push(['', clean(String(item)), '']);
    } else {
      rows.push([key, clean(spec.show(value)), marker]);
    }
  }
  return rows;
}

export async function listsShow(ctx: Context, name: string, opts: { json?: boolean }): Promise<void> {
  const list = await requireList(ctx, name);
  const counts = await countByRole(await ctx.db(), list.id);
  if (opts.json) {
    const settings = Object.fromEntries(
      SETTING_KEYS.map((k) => {
        const spec = settingSpec(k);
        const value = spec.kind === 'secret' ? (list.settings[k] ? '(set)' : '') : list.settings[k];
        return [k, { value, default: spec.default, isDefault: isDefault(spec, list.settings[k]) }];
      }),
    );
    ctx.out(json({ address: list.address, name: list.displayName, createdAt: list.createdAt, members: counts.member, owners: counts.owner, moderators: counts.moderator, settings }));
    return;
  }
  let body = `${list.address}\n`;
  body += fields([
    ['name', clean(list.displayName)],
    ['created', when(list.createdAt)],
    ['members', String(counts.member)],
    ['owners', String(counts.owner)],
    ['moderators', String(counts.moderator)],
  ]);
  body += 'settings (change with: listflow lists set <list> key=value | key+=item | key-=item | key=)\n';
  body += aligned(settingRows(SETTINGS as unknown as Record<string, SettingSpec<unknown>>, list.settings as unknown as Record<string, unknown>), '  ');
  ctx.out(body);
  for (const problem of unusableItems(SETTINGS, list.settings)) ctx.warn(`note: ${clean(problem)}`);
}

export async function listsSet(ctx: Context, text: string, assignments: string[]): Promise<void> {
  const db = await ctx.db();
  const existing = await requireList(ctx, text);
  // Read, change and write under a row lock, so two operators adding items at once both keep theirs.
  const { updated, changes } = await transaction(db, async (client) => {
    await client.query('SELECT 1 FROM lists WHERE id = $1 FOR UPDATE', [existing.id]);
    const current = await getList(client, existing.address);
    if (!current) throw new CliError(`there is no list ${existing.address}`);
    const { changes, problems } = parseAssignments(assignments, current.settings);
    // All or nothing: a script that sets three keys must not leave the list with one of them.
    if (problems.length === 1) throw new CliError(`${problems[0]} (nothing was changed)`);
    if (problems.length > 1) throw new CliError(`${problems.join('\n')}\nnothing was changed`);
    return { updated: await updateSettings(client, current.address, changes), changes };
  });
  if (!updated) throw new CliError(`there is no list ${text.trim().toLowerCase()}`);
  for (const key of Object.keys(changes) as (keyof ListSettings)[]) {
    ctx.out(`${updated.address}: ${key} = ${showValue(key, updated.settings[key])}\n`);
  }
  // @list items are kept even when no such list exists yet (it may be created next), but a typo should show.
  const named = Object.values(changes).flatMap((v) => (Array.isArray(v) ? v.filter((i: string) => i.startsWith('@')).map((i: string) => i.slice(1)) : []));
  const found = new Set(await existingLists(db, named));
  for (const l of new Set(named)) if (!found.has(l)) ctx.warn(`note: there is no list ${l} (yet), so @${l} matches nobody`);
}

export async function listsDelete(ctx: Context, text: string, opts: { yes?: boolean }): Promise<void> {
  const list = await requireList(ctx, text);
  const counts = await countByRole(await ctx.db(), list.id);
  const roster = `${count(counts.member, 'member')}, ${count(counts.owner, 'owner')} and ${count(counts.moderator, 'moderator')}`;
  if (!opts.yes) {
    throw new CliError(`not deleting ${list.address} (${roster}) without --yes: run listflow lists delete ${list.address} --yes`);
  }
  await deleteList(await ctx.db(), list.address);
  ctx.out(`deleted list ${list.address} with its ${roster}\n`);
}
