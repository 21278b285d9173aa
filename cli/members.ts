// `listflow members …`: add (from arguments or a file of any size), remove, list, and set a member's moderation.
import { readFile } from 'node:fs/promises';
import { addressKey } from '../mail/address.js';
import { transaction } from '../store/db.js';
import {
  addMembers,
  DELIVERY_MODES,
  deleteMembers,
  listMembers,
  MEMBER_MODERATIONS,
  setDeliveryMode,
  setModeration,
  type DeliveryMode,
  type MemberModeration,
  type Role,
} from '../store/members.js';
import { removeMembersRecorded } from '../store/subscriptions.js';
import { wakeMemberNotices } from '../runtime/member-notices.js';
import { AddressCollector, addressLines, chunks } from './address-file.js';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { clean, count, json, table } from './output.js';
import { requireList } from './lists.js';

/** Past this many, invalid lines of a file are counted but not each reported: a wrong file should not flood the terminal. */
const MAX_REPORTED = 100;

async function readAddressFile(file: string): Promise<string> {
  try {
    if (file !== '-') return await readFile(file, 'utf8');
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Addresses validated per chunk, so the database inserts one chunk while the next is being checked. */
const CHUNK = 5000;

/**
 * Wakes the list's member-notices workflow (signal-with-start), which sends the welcomes and goodbyes the
 * database says are owed, in batches. Without Temporal they stay owed, and go with the next add or remove.
 */
async function sendOwed(ctx: Context, list: string, n: number, what: string): Promise<void> {
  try {
    const { client } = await ctx.temporal();
    const workflowId = await wakeMemberNotices(client, { taskQueue: ctx.config.taskQueue, deliveryTaskQueue: ctx.config.deliveryTaskQueue }, list);
    ctx.out(`${count(n, `${what} message`)} to send (${workflowId})\n`);
  } catch (err) {
    ctx.warn(`${count(n, `${what} message`)} not sent yet: ${(err as Error).message}; they go out when listflow next starts, or with the next members add or remove on ${list}`);
  }
}

export async function membersAdd(ctx: Context, listText: string, args: string[], opts: { file?: string; role: Role; welcome?: boolean }): Promise<number> {
  if (args.length === 0 && !opts.file) throw new CliError('give addresses to add, or --file F (one address a line)');
  const list = await requireList(ctx, listText);
  // Owners and moderators are staff, not subscribers: no welcome for them.
  const welcomePending = opts.role === 'member' && opts.welcome !== false && list.settings.send_welcome_message;
  const text = opts.file ? await readAddressFile(opts.file) : '';
  const collector = new AddressCollector();
  const added = await transaction(await ctx.db(), async (client) => {
    let total = 0;
    // One insert in flight at a time: PostgreSQL stores a chunk while the next one is being validated here.
    let inflight: Promise<void> = Promise.resolve();
    const insert = async (addresses: string[]) => {
      await inflight;
      if (addresses.length > 0) inflight = addMembers(client, list.id, addresses, opts.role, { welcomePending }).then((n) => void (total += n));
    };
    await insert(collector.take(args.map((a, i): [number, string] => [i + 1, a]), 'argument'));
    if (opts.file) {
      for (const chunk of chunks(addressLines(text), CHUNK)) await insert(collector.take(chunk, opts.file));
    }
    await inflight;
    return total;
  });

  const fromArgs = collector.invalid.filter((i) => i.source === 'argument');
  const fromFile = collector.invalid.filter((i) => i.source !== 'argument');
  for (const bad of fromArgs) ctx.warn(`argument ${bad.line}: ${bad.reason}`);
  for (const bad of fromFile.slice(0, MAX_REPORTED)) ctx.warn(`${bad.source}:${bad.line}: ${bad.reason}`);
  if (fromFile.length > MAX_REPORTED) ctx.warn(`${opts.file}: … and ${fromFile.length - MAX_REPORTED} more invalid lines`);
  const as = opts.role === 'member' ? '' : ` (as ${opts.role}s)`;
  // A repeat within the input is already there by the time it is reached: added + already + invalid = entries given.
  const n = (x: number) => x.toLocaleString('en-US');
  ctx.out(`${list.address}: ${n(added)} added${as}, ${n(collector.valid - added)} already there, ${n(collector.invalid.length)} invalid\n`);
  if (welcomePending && added > 0) await sendOwed(ctx, list.address, added, 'welcome');
  // Like rm or mkdir: an argument that could not be used fails the command; bad lines in a file do not.
  return fromArgs.length > 0 ? 1 : 0;
}

export async function membersRemove(ctx: Context, listText: string, args: string[], opts: { role: Role; goodbye?: boolean }): Promise<number> {
  const list = await requireList(ctx, listText);
  const keys = [...new Set(args.map(addressKey))];
  const goodbyePending = opts.role === 'member' && opts.goodbye !== false && list.settings.send_goodbye_message;
  // Members leaving are recorded in `unsubscriptions` (via cli), as every other way of leaving is.
  const removed = new Set(
    opts.role === 'member' ? await removeMembersRecorded(await ctx.db(), list, keys, 'cli', goodbyePending) : await deleteMembers(await ctx.db(), list.id, keys, opts.role),
  );
  const missing = keys.filter((k) => !removed.has(k));
  for (const k of missing) ctx.warn(`${clean(k)} is not ${opts.role === 'owner' ? 'an' : 'a'} ${opts.role} of ${list.address}`);
  ctx.out(`${list.address}: removed ${count(removed.size, opts.role)}\n`);
  if (goodbyePending && removed.size > 0) await sendOwed(ctx, list.address, removed.size, 'goodbye');
  return missing.length > 0 ? 1 : 0;
}

export async function membersList(ctx: Context, listText: string, opts: { role?: Role; json?: boolean }): Promise<void> {
  const list = await requireList(ctx, listText);
  const members = await listMembers(await ctx.db(), list.id, opts.role);
  if (opts.json) {
    ctx.out(json(members.map(({ verpToken: _, ...m }) => m)));
    return;
  }
  if (members.length === 0) {
    ctx.out(`${list.address} has no ${opts.role ?? 'member'}s\n`);
    return;
  }
  ctx.out(table(['ADDRESS', 'ROLE', 'MODERATION', 'DELIVERY'], members.map((m) => [clean(m.address), m.role, m.moderation, `${m.deliveryStatus} ${m.deliveryMode}`])));
}

export async function membersSet(ctx: Context, listText: string, address: string, assignments: string[]): Promise<void> {
  let moderation: MemberModeration | undefined;
  let deliveryMode: DeliveryMode | undefined;
  for (const a of assignments) {
    const eq = a.indexOf('=');
    const key = eq > 0 ? a.slice(0, eq).trim() : '';
    const value = a.slice(eq + 1).trim();
    if (key === 'moderation') {
      if (!(MEMBER_MODERATIONS as string[]).includes(value)) throw new CliError(`moderation=${value}: must be one of ${MEMBER_MODERATIONS.join(', ')}`);
      moderation = value as MemberModeration;
    } else if (key === 'delivery_mode') {
      if (!(DELIVERY_MODES as string[]).includes(value)) throw new CliError(`delivery_mode=${value}: must be one of ${DELIVERY_MODES.join(', ')}`);
      deliveryMode = value as DeliveryMode;
    } else {
      throw new CliError(`"${a}" is not a member setting (known: moderation=${MEMBER_MODERATIONS.join('|')}, delivery_mode=${DELIVERY_MODES.join('|')})`);
    }
  }
  if (!moderation && !deliveryMode) throw new CliError(`give a setting: moderation=${MEMBER_MODERATIONS.join('|')} or delivery_mode=${DELIVERY_MODES.join('|')}`);
  const list = await requireList(ctx, listText);
  // Mailman's "digestable": a list that does not offer digests refuses new digest members.
  if (deliveryMode && deliveryMode !== 'regular' && !list.settings.digests_enabled) {
    throw new CliError(`${list.address} does not offer digests (digests_enabled is false)`);
  }
  const who = clean(addressKey(address));
  await transaction(await ctx.db(), async (client) => {
    const found = (moderation ? await setModeration(client, list.id, address, moderation) : true) && (deliveryMode ? await setDeliveryMode(client, list.id, address, deliveryMode) : true);
    if (!found) throw new CliError(`${who} is not a member of ${list.address}`);
  });
  if (moderation) ctx.out(`${list.address}: ${who} moderation = ${moderation}\n`);
  if (deliveryMode) ctx.out(`${list.address}: ${who} delivery_mode = ${deliveryMode}\n`);
}
