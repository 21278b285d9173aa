// What listflow answers to -request, -join and -leave mail: each command quoted with its result, and the texts of
// `help`, `info` and `who`. Everything the sender wrote goes through clean() before it is written back.
import type { CommandResult } from '../workflows/messages.js';
import { listSubAddress } from './address.js';
import type { CommandScan } from './commands.js';
import { MAX_COMMANDS, MAX_LINES_SCANNED } from './commands.js';
import { clean } from './message.js';
import type { Notice } from './notices.js';
import type { ListSettings, SubscriptionPolicy } from './settings.js';

/** `who` lists at most this many addresses and says how many more there are. */
export const MAX_WHO = 500;

const safe = (text: string | null | undefined, max = 300): string => clean(text ?? '', max);
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The `help` text: the commands and the addresses. */
export function helpLines(list: string, displayName: string): string[] {
  const request = listSubAddress(list, 'request');
  return [
    `Commands for the ${safe(displayName, 100)} list (${list}). Send them to`,
    `${request}, one per line, in the subject or at the top of the body:`,
    ``,
    `  subscribe [digest|nodigest] [address]   join the list (also: join;`,
    `                                          digest=mime|plain|no, address=<addr>)`,
    `  unsubscribe [address]                   leave the list (also: leave)`,
    `  confirm <token>                         confirm a subscription or unsubscription`,
    `  info                                    what the list is for and how it works`,
    `  who                                     the members, if the list shows them to you`,
    `  help                                    this text`,
    `  echo <text>                             answers with the text`,
    `  end                                     stop reading (also: stop, or a "-- " signature)`,
    ``,
    `Reading stops at the first line that is not a command; blank lines and quoted`,
    `lines (">") are skipped. At most ${MAX_COMMANDS} commands are run per message.`,
    `Without an address, a command is about the address you write from. When you`,
    `name another address, the confirmation goes to that address, not to you.`,
    ``,
    `Shortcuts: any message to ${listSubAddress(list, 'join')} subscribes you and any`,
    `message to ${listSubAddress(list, 'leave')} unsubscribes you; their subject and`,
    `body are not read.`,
    ``,
    `To post, write to ${list}. The owners: ${listSubAddress(list, 'owner')}.`,
  ];
}

const POLICIES: Record<SubscriptionPolicy, string> = {
  open: 'open (no confirmation)',
  confirm: 'the address confirms by mail or link',
  moderate: 'a moderator approves',
  confirm_then_moderate: 'the address confirms, then a moderator approves',
};

const NONMEMBER_POSTS: Record<ListSettings['nonmember_action'], string> = {
  accept: 'accepted',
  hold: 'held for a moderator',
  reject: 'rejected',
  discard: 'discarded',
};

/** The `info` text. `memberCount` only when the roster is public (null otherwise). */
export function infoLines(input: { list: string; displayName: string; settings: ListSettings; memberCount: number | null }): string[] {
  const s = input.settings;
  return [
    `${safe(input.displayName, 100)} (${input.list})`,
    safe(s.description, 500) || '(The list has no description.)',
    ``,
    `  Posting address:    ${input.list}`,
    `  Commands:           ${listSubAddress(input.list, 'request')}`,
    `  Owners:             ${listSubAddress(input.list, 'owner')}`,
    `  Joining:            ${POLICIES[s.subscription_policy]}`,
    `  Leaving:            ${POLICIES[s.unsubscription_policy]}`,
    `  Posts of nonmembers: ${NONMEMBER_POSTS[s.nonmember_action]}`,
    `  Digests:            ${s.digests_enabled ? `available (${s.digest_period})` : 'not offered'}`,
    `  Archive:            ${s.archive_policy === 'never' ? 'none' : s.archive_policy}`,
    ...(input.memberCount !== null ? [`  Members:            ${input.memberCount}`] : []),
  ];
}

/** The `who` text: addresses only, at most MAX_WHO of them. */
export function whoLines(list: string, addresses: string[], total: number): string[] {
  const shown = addresses.slice(0, MAX_WHO);
  return [
    `${plural(total, 'member')} of ${list}${total > 0 ? ':' : '.'}`,
    ...shown.map((a) => `  ${safe(a, 320)}`),
    ...(total > shown.length ? [`  … and ${total - shown.length} more (at most ${MAX_WHO} are listed).`] : []),
  ];
}

/** What the reading of the message left out: the subject that was no command, where and why it stopped. */
function scanNotes(scan: Pick<CommandScan, 'ignoredSubject' | 'stop' | 'unknown'>): string[] {
  const notes: string[] = [];
  const more = (n: number) => (n > 0 ? `; ${plural(n, 'more line')} ${n === 1 ? 'was' : 'were'} not read` : '');
  if (scan.unknown) {
    notes.push(`> ${safe(scan.unknown, 200)}`, `  Unknown command: reading stopped here${more(scan.stop?.unread ?? 0)}.`, ``);
  }
  const stop = scan.stop;
  if (stop && !scan.unknown) {
    if (stop.reason === 'signature' && stop.unread > 0) notes.push(`Reading stopped at the signature marker "${safe(stop.line, 40)}"${more(stop.unread)}.`);
    if (stop.reason === 'end' && stop.unread > 0) notes.push(`Reading stopped at "${safe(stop.line, 40)}"${more(stop.unread)}.`);
    if (stop.reason === 'not-a-command') notes.push(`Reading stopped at "${safe(stop.line, 80)}", which is not a command${more(stop.unread)}.`);
    if (stop.reason === 'line-limit') notes.push(`Only the first ${MAX_LINES_SCANNED} lines of a message are read${more(stop.unread)}.`);
    if (stop.reason === 'command-limit') notes.push(`At most ${MAX_COMMANDS} commands are run per message: "${safe(stop.line, 80)}" and what follows were not${more(Math.max(0, stop.unread - 1))}.`);
  }
  if (scan.ignoredSubject) notes.push(`The subject "${safe(scan.ignoredSubject, 80)}" is not a command and was ignored.`);
  return notes;
}

export interface CommandReplyInput {
  list: string;
  displayName: string;
  /** Which address the mail went to. */
  address: 'request' | 'join' | 'leave';
  results: CommandResult[];
  scan: Pick<CommandScan, 'ignoredSubject' | 'stop' | 'unknown'>;
}

/** The one reply to a command message: each command quoted, then its result; then what was not read. */
export function commandReply(input: CommandReplyInput): Notice {
  const to = input.address === 'request' ? listSubAddress(input.list, 'request') : listSubAddress(input.list, input.address);
  const lines: string[] = [`The results of your message to ${to}:`, ``];
  for (const r of input.results) {
    lines.push(`> ${safe(r.line, 200)}`, ...r.lines.map((l) => `  ${safe(l, 1000)}`), ``);
  }
  const notes = scanNotes(input.scan);
  if (input.address !== 'request') {
    notes.push(`Mail to ${to} asks to ${input.address} for its sender; its subject and body are not read.`);
  }
  if (input.results.length === 0) lines.push(`No command was found in your message.`, ``);
  if (notes.length > 0) lines.push(...notes, ``);
  if (input.results.length === 0) lines.push(...helpLines(input.list, input.displayName), ``);
  else lines.push(`For the list of commands, send "help" to ${listSubAddress(input.list, 'request')}.`, ``);
  lines.push(`- Done. This is an automatic reply of ${input.list}.`);
  return { subject: safe(`The results of your email commands to ${input.list}`, 250), text: lines.join('\n') };
}
