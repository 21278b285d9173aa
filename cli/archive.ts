// `listflow archive …`: export a list's archive as mboxrd, import an mbox export, search, and show a thread.
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { archiveFacts } from '../mail/archive.js';
import { looksLikeMbox, mboxrdEntry, splitMbox, toCrlf } from '../mail/mbox.js';
import { exportArchive, fileMessage, searchArchive, threadOf, type ArchivedPost } from '../store/archive.js';
import { putMessage } from '../store/messages.js';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { requireList } from './lists.js';
import { aligned, clean, json, truncate, when } from './output.js';

function parseSince(text: string | undefined): Date | null {
  if (text === undefined) return null;
  const t = Date.parse(text);
  if (!Number.isFinite(t)) throw new CliError(`--since: "${text}" is not a date (e.g. 2026-01-31 or 2026-01-31T12:00:00Z)`, 2);
  return new Date(t);
}

export async function archiveExport(ctx: Context, listText: string, opts: { since?: string; output?: string }): Promise<void> {
  const since = parseSince(opts.since);
  const list = await requireList(ctx, listText);
  const db = await ctx.db();
  const file = opts.output && opts.output !== '-' ? createWriteStream(opts.output, { flags: 'w' }) : null;
  if (file) {
    await new Promise<void>((resolve, reject) => {
      file.once('open', () => resolve());
      file.once('error', (err) => reject(new CliError(`cannot write ${opts.output}: ${err.message}`)));
    });
  }
  let n = 0;
  try {
    for await (const m of exportArchive(db, list.id, since)) {
      const entry = mboxrdEntry(m.raw, m.envelopeFrom || m.authorAddress || 'MAILER-DAEMON', m.date);
      if (file) {
        if (!file.write(entry)) await once(file, 'drain');
      } else {
        ctx.out(entry.toString('latin1'));
      }
      n++;
    }
  } finally {
    if (file) await new Promise<void>((resolve, reject) => file.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
  // The count goes to stderr, so an export to stdout stays a clean mbox.
  if (file) ctx.out(`exported ${n} message${n === 1 ? '' : 's'} of ${list.address} to ${opts.output}\n`);
  else ctx.warn(`exported ${n} message${n === 1 ? '' : 's'} of ${list.address}`);
}

/** `listflow archive <list> --export mbox`, the spelling. */
export async function archiveLegacy(ctx: Context, listText: string | undefined, opts: { export?: string; since?: string; output?: string }): Promise<void> {
  if (!listText || opts.export === undefined) throw new CliError('say what to do: listflow archive export|import|search|thread … (see listflow archive --help)', 2);
  if (opts.export !== 'mbox') throw new CliError(`--export: only mbox (mboxrd) is supported, not "${opts.export}"`, 2);
  return archiveExport(ctx, listText, opts);
}

export async function archiveImport(ctx: Context, listText: string, path: string): Promise<void> {
  const list = await requireList(ctx, listText);
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  if (!looksLikeMbox(data)) throw new CliError(`${path} is not an mbox file (it does not begin with a "From " line)`);
  const db = await ctx.db();
  const entries = splitMbox(data);
  let imported = 0;
  let duplicates = 0;
  let unreadable = 0;
  const readable: { facts: Awaited<ReturnType<typeof archiveFacts>>; raw: Buffer; sender: string | null; fallback: string; index: number }[] = [];
  for (const e of entries) {
    if (e.problem) {
      unreadable++;
      ctx.warn(`${path}: message ${e.index} (line ${e.line}) skipped: ${e.problem}`);
      continue;
    }
    const raw = toCrlf(e.raw);
    readable.push({ facts: await archiveFacts(raw), raw, sender: e.envelopeSender, fallback: e.envelopeDate ?? new Date(0).toISOString(), index: e.index });
  }
  // Parents before replies, whatever order the export has: threads are rebuilt as messages are filed.
  const at = (r: (typeof readable)[number]) => Date.parse(r.facts.date ?? r.fallback);
  readable.sort((a, b) => at(a) - at(b) || a.index - b.index);
  for (const r of readable) {
    const sha256 = await putMessage(db, r.raw);
    const filed = await fileMessage(db, { listId: list.id, sha256, facts: r.facts, envelopeFrom: r.sender, fallbackDate: r.fallback });
    if (filed.filed) imported++;
    else duplicates++;
  }
  ctx.out(`imported ${imported}, skipped ${duplicates} duplicate${duplicates === 1 ? '' : 's'}, ${unreadable} unreadable\n`);
}

function author(p: ArchivedPost): string {
  const name = clean(p.authorName);
  return name && p.authorAddress ? `${name} <${clean(p.authorAddress)}>` : name || clean(p.authorAddress ?? '');
}

export async function archiveSearch(ctx: Context, listText: string, words: string[], opts: { json?: boolean; limit?: string }): Promise<void> {
  const limit = opts.limit === undefined ? 20 : Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new CliError('--limit: a whole number from 1 to 1000', 2);
  const query = words.join(' ').trim();
  if (!query) throw new CliError('say what to search for', 2);
  const list = await requireList(ctx, listText);
  const hits = await searchArchive(await ctx.db(), list.id, query, { limit, publicUrl: ctx.config.publicUrl });
  if (opts.json) return ctx.out(json(hits));
  if (!hits.length) return ctx.out(`nothing in the archive of ${list.address} matches ${clean(query)}\n`);
  ctx.out(
    aligned([
      ['DATE', 'AUTHOR', 'SUBJECT', 'THREAD', 'PERMALINK'],
      ...hits.map((h) => [when(h.date), truncate(author(h), 40), truncate(clean(h.subject), 60), h.threadId, h.permalink]),
    ]),
  );
}

export async function archiveThread(ctx: Context, listText: string, hash: string, opts: { json?: boolean }): Promise<void> {
  const list = await requireList(ctx, listText);
  const posts = await threadOf(await ctx.db(), list.id, hash, ctx.config.publicUrl);
  if (!posts.length) throw new CliError(`no message ${clean(hash)} in the archive of ${list.address} (hashes are shown by listflow archive search)`);
  if (opts.json) return ctx.out(json(posts));
  // Replies are indented under their parent; a post whose parent is unknown sits at the top level.
  const depth = new Map<string, number>();
  for (const p of posts) depth.set(p.messageIdHash, p.parentHash && depth.has(p.parentHash) ? (depth.get(p.parentHash) as number) + 1 : 0);
  ctx.out(`thread ${posts[0]?.threadId}: ${posts.length} message${posts.length === 1 ? '' : 's'}\n`);
  ctx.out(aligned(posts.map((p) => [when(p.date), `${'  '.repeat(depth.get(p.messageIdHash) ?? 0)}${truncate(clean(p.subject), 60)}`, truncate(author(p), 40), p.messageIdHash])));
}
