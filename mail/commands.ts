// Email commands to <list>-request@ (and the implied ones of -join@ and -leave@): read from the subject and the
// first text part, one per line, the way Mailman reads them, with hard bounds for hostile mail.
import { convert } from 'html-to-text';
import { AddressError, normalizeAddress } from './address.js';
import { firstTextPart, leafParts, leafText } from './mime.js';
import { REPLY_PREFIX } from './moderator-command.js';

export type CommandName = 'subscribe' | 'unsubscribe' | 'confirm' | 'help' | 'info' | 'who' | 'echo' | 'end';
export type DigestChoice = 'regular' | 'mime_digest' | 'plain_digest';

/** One command line, understood. `problem` set: the line named a command but its arguments are refused. */
export interface ParsedCommand {
  name: CommandName;
  /** The line as written, cleaned (control characters removed) and shortened: safe to quote in the reply. */
  line: string;
  /** Where it came from: the subject, the body, or the address it was sent to (-join, -leave). */
  source: 'subject' | 'body' | 'address';
  /** subscribe/unsubscribe: the address given; absent means the sender. Valid (normalizeAddress) when set. */
  address?: string;
  /** subscribe: the delivery asked for; absent means the list's default (regular copies). */
  digest?: DigestChoice;
  /** confirm: the token (lower-case base32). */
  token?: string;
  /** echo: the text to echo, cleaned. */
  text?: string;
  /** The command is not run: why (shown to the sender). */
  problem?: string;
}

/** Why reading stopped before the end of the body. */
export interface Stop {
  reason: 'end' | 'signature' | 'not-a-command' | 'line-limit' | 'command-limit';
  /** The line that stopped it (cleaned), when one did. */
  line: string;
  /** How many non-blank lines of the body were left unread. */
  unread: number;
}

export interface CommandScan {
  commands: ParsedCommand[];
  /** The subject when it was not a command (cleaned): ignored, not an error. */
  ignoredSubject: string | null;
  stop: Stop | null;
  /** The first line read as a command that is not one, when no command came before it: worth saying so. */
  unknown: string | null;
}

export type RequestAddress = 'request' | 'join' | 'leave';

/** Lines of the body looked at (blank and quoted lines count too): hostile mail costs no more than this. */
export const MAX_LINES_SCANNED = 100;
/** Commands run per message; the rest are reported as not run. */
export const MAX_COMMANDS = 10;
/** Bytes of the text part read: commands sit at the top. */
export const MAX_TEXT_BYTES = 64 * 1024;
/** A quoted line or echo text in the reply is cut to this many characters. */
const MAX_QUOTE = 200;

// A Map, not an object literal: a line starting with "constructor" or "__proto__" is no command.
const NAMES = new Map<string, CommandName>([
  ['subscribe', 'subscribe'],
  ['join', 'subscribe'],
  ['unsubscribe', 'unsubscribe'],
  ['leave', 'unsubscribe'],
  ['confirm', 'confirm'],
  ['help', 'help'],
  ['info', 'info'],
  ['who', 'who'],
  ['echo', 'echo'],
  ['end', 'end'],
  // Mailman 3's synonym of end.
  ['stop', 'end'],
]);

/** Removes control characters (NUL, CR, escape sequences…) and cuts the text: what may be quoted back. */
export function cleanLine(text: string, max = MAX_QUOTE): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\ufeff]+/g, ' ').replace(/[ \t]{2,}|\t/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** A signature or a separator mail programs put before quoted text: `-- `, `--`, a row of underscores. */
function isSeparator(trimmed: string): boolean {
  return /^-{2,}$/.test(trimmed) || /^_{3,}$/.test(trimmed) || /^-{3,}\s*original message\s*-{3,}$/i.test(trimmed);
}

function tokenOf(word: string): string | null {
  // The token alone, or the whole -confirm+TOKEN address pasted from a confirmation mail.
  const m = /^(?:[^+@\s]*-confirm\+)?([A-Za-z2-7]{8,300})(?:@[^@\s]+)?$/.exec(word);
  return m?.[1] ? m[1].toLowerCase() : null;
}

function validAddress(text: string): { address: string } | { problem: string } {
  try {
    return { address: normalizeAddress(text) };
  } catch (err) {
    if (err instanceof AddressError) return { problem: `refused: ${cleanLine(err.message, 300)}` };
    throw err;
  }
}

const DIGESTS = new Map<string, DigestChoice>([
  ['no', 'regular'],
  ['mime', 'mime_digest'],
  ['plain', 'plain_digest'],
]);

/** The arguments of subscribe/unsubscribe: [digest|nodigest|digest=no|mime|plain] [address|address=<addr>], any order. */
function membershipArgs(cmd: ParsedCommand, args: string[], allowDigest: boolean): ParsedCommand {
  for (const arg of args) {
    const lower = arg.toLowerCase();
    const [key, value] = lower.includes('=') ? [lower.slice(0, lower.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [lower, null];
    if (allowDigest && value === null && (key === 'digest' || key === 'nodigest')) {
      if (cmd.digest) return { ...cmd, problem: 'refused: digest is given twice' };
      cmd = { ...cmd, digest: key === 'digest' ? 'mime_digest' : 'regular' };
    } else if (allowDigest && key === 'digest' && value !== null) {
      const choice = DIGESTS.get(value.toLowerCase());
      if (!choice) return { ...cmd, problem: `refused: digest=${cleanLine(value, 40)} is not one of digest=no, digest=mime, digest=plain` };
      if (cmd.digest) return { ...cmd, problem: 'refused: digest is given twice' };
      cmd = { ...cmd, digest: choice };
    } else if (key === 'address' || (value === null && arg.includes('@'))) {
      if (cmd.address) return { ...cmd, problem: 'refused: only one address per command' };
      const text = value ?? arg;
      const checked = validAddress(text);
      if ('problem' in checked) return { ...cmd, problem: checked.problem };
      cmd = { ...cmd, address: checked.address };
    } else {
      const expected = allowDigest ? 'digest, nodigest, digest=no|mime|plain, or an address' : 'an address';
      return { ...cmd, problem: `refused: "${cleanLine(arg, 60)}" is not understood here (expected ${expected})` };
    }
  }
  return cmd;
}

/**
 * One line as a command, or null when it is not one. Arguments the command does not take make the command
 * refused (with `problem`), not a non-command: the sender meant it and deserves to hear why.
 */
export function parseCommandLine(text: string, source: ParsedCommand['source']): ParsedCommand | null {
  const line = cleanLine(text);
  // Mail commands are ASCII words separated by blanks (Mailman's rule); a line of other text is not a command.
  const words = line.split(/\s+/).filter(Boolean);
  const first = words[0];
  if (!first) return null;
  const name = NAMES.get(first.toLowerCase().replace(/:$/, ''));
  if (!name) return null;
  const args = words.slice(1);
  const cmd: ParsedCommand = { name, line, source };
  switch (name) {
    case 'subscribe':
      return membershipArgs(cmd, args, true);
    case 'unsubscribe':
      return membershipArgs(cmd, args, false);
    case 'confirm': {
      if (args.length === 0) return { ...cmd, problem: 'refused: confirm needs the token from the confirmation message' };
      const token = args.length === 1 ? tokenOf(args[0] as string) : null;
      if (!token) return { ...cmd, problem: 'refused: that is not a confirmation token (copy it from the message you were sent, unchanged)' };
      return { ...cmd, token };
    }
    case 'echo':
      return { ...cmd, text: cleanLine(line.slice(first.length), MAX_QUOTE) };
    case 'help':
    case 'info':
    case 'who':
    case 'end':
      // Mailman ignores words after these; so does listflow (a "help me please" still gets help).
      return cmd;
  }
}

/** The subject without Re:/Fwd:/AW: prefixes and a leading [list] tag. */
export function subjectCommandText(subject: string): string {
  let s = subject;
  for (let i = 0; i < 5; i++) {
    const next = s.replace(REPLY_PREFIX, '').replace(/^\s*\[[^\]]{0,100}\]\s*/, '');
    if (next === s) break;
    s = next;
  }
  return s;
}

/**
 * Reads the commands of one message. -join and -leave mail means join or leave for the sender, whatever the
 * subject and body say (their text is not read). Otherwise the subject may hold one command; the body is read
 * line by line: blank lines and quoted lines (`>`) are skipped; `end`, a signature marker or the first line
 * that is not a command stops the reading; at most MAX_LINES_SCANNED lines are looked at and MAX_COMMANDS run.
 */
export function scanCommands(input: { subject: string; body: string; address: RequestAddress }): CommandScan {
  if (input.address !== 'request') {
    const name: CommandName = input.address === 'join' ? 'subscribe' : 'unsubscribe';
    return { commands: [{ name, line: input.address, source: 'address' }], ignoredSubject: null, stop: null, unknown: null };
  }
  const commands: ParsedCommand[] = [];
  let ignoredSubject: string | null = null;
  let unknown: string | null = null;
  const subject = subjectCommandText(input.subject);
  if (subject.trim()) {
    const cmd = parseCommandLine(subject, 'subject');
    if (cmd) commands.push(cmd);
    else ignoredSubject = cleanLine(input.subject);
  }
  const lines = input.body.split('\n');
  if (commands[0]?.name === 'end') return { commands, ignoredSubject, stop: { reason: 'end', line: commands[0].line, unread: countLines(lines, 0) }, unknown };

  let stop: Stop | null = null;
  const limit = Math.min(lines.length, MAX_LINES_SCANNED);
  let i = 0;
  for (; i < limit; i++) {
    const raw = lines[i] as string;
    const trimmed = cleanLine(raw, 1000);
    if (trimmed === '' || trimmed.startsWith('>')) continue;
    if (isSeparator(trimmed)) {
      stop = { reason: 'signature', line: cleanLine(trimmed), unread: countLines(lines, i + 1) };
      break;
    }
    const cmd = parseCommandLine(raw, 'body');
    if (!cmd) {
      if (commands.length === 0) unknown = cleanLine(trimmed);
      stop = { reason: 'not-a-command', line: cleanLine(trimmed), unread: countLines(lines, i + 1) };
      break;
    }
    if (commands.length >= MAX_COMMANDS) {
      stop = { reason: 'command-limit', line: cmd.line, unread: countLines(lines, i) };
      break;
    }
    commands.push(repeatChecked(commands, cmd));
    if (cmd.name === 'end') {
      stop = { reason: 'end', line: cmd.line, unread: countLines(lines, i + 1) };
      break;
    }
  }
  if (!stop && i >= MAX_LINES_SCANNED && i < lines.length) {
    const unread = countLines(lines, i);
    if (unread > 0) stop = { reason: 'line-limit', line: '', unread };
  }
  return { commands, ignoredSubject, stop, unknown };
}

/** The subject and the body often say the same ("subscribe" twice): the second is not run again. */
function repeatChecked(earlier: ParsedCommand[], cmd: ParsedCommand): ParsedCommand {
  if (cmd.problem || !['subscribe', 'unsubscribe', 'confirm'].includes(cmd.name)) return cmd;
  const key = (c: ParsedCommand) => `${c.name} ${c.address ?? ''} ${c.token ?? ''}`;
  return earlier.some((c) => !c.problem && key(c) === key(cmd)) ? { ...cmd, problem: 'skipped: the same as an earlier command of this message' } : cmd;
}

/** Non-blank lines from line `from` on (bounded work: the text is at most MAX_TEXT_BYTES). */
function countLines(lines: string[], from: number): number {
  let n = 0;
  for (let i = from; i < lines.length; i++) if ((lines[i] as string).trim() !== '') n++;
  return n;
}

/**
 * The text commands are read from: the first text/plain part that is not an attachment (decoded, in its
 * charset), else the first HTML part as text, at most MAX_TEXT_BYTES of it. Never throws: mail too broken to
 * read has no body commands.
 */
export function commandBodyText(raw: Buffer): string {
  try {
    const leaves = leafParts(raw);
    const plain = firstTextPart(raw, leaves);
    if (plain) return normalizeText(leafText(raw, plain, MAX_TEXT_BYTES));
    const html = leaves.find((l) => l.contentType === 'text/html' && l.disposition !== 'attachment');
    if (html) return normalizeText(convert(leafText(raw, html, MAX_TEXT_BYTES), { wordwrap: false, selectors: [{ selector: 'a', options: { ignoreHref: true } }] }));
  } catch {
    // fall through: no body commands
  }
  return '';
}

/** Lines end at LF; a bare CR is a control character inside a line (as for the approval line), never a break. */
function normalizeText(text: string): string {
  return text.replace(/\r\n/g, '\n');
}
