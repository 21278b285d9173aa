// Reading a moderator's command from a reply to a -confirm address: "approve", "reject <reason>" or "discard".
import { clean } from './message.js';

export type ModeratorAction = 'approve' | 'reject' | 'discard';

export interface ModeratorCommand {
  action: ModeratorAction;
  /** For reject: the rest of the line, for the poster. */
  reason: string;
  /** Where it was found, for the reply. */
  source: 'subject' | 'body';
}

const COMMAND = /^(approve|reject|discard)\b[\s:,.-]*(.*)$/i;
/** Reply and forward prefixes mail programs put before a subject, in a few languages. */
export const REPLY_PREFIX = /^\s*(?:(?:re|fwd?|aw|wg|sv|vs|tr|antw)(?:\[\d+\])?\s*:\s*)+/i;

function commandIn(line: string, source: 'subject' | 'body'): ModeratorCommand | null {
  const m = COMMAND.exec(line.trim());
  if (!m) return null;
  return { action: (m[1] as string).toLowerCase() as ModeratorAction, reason: clean(m[2] ?? '', 500), source };
}

/**
 * The command in the subject (after Re:/Fwd: prefixes), else in the first line of the body that is neither
 * blank nor quoted. Null when there is none: the address's own action then stands.
 */
export function findModeratorCommand(subject: string, bodyText: string): ModeratorCommand | null {
  const fromSubject = commandIn(subject.replace(REPLY_PREFIX, ''), 'subject');
  if (fromSubject) return fromSubject;
  for (const line of bodyText.split(/\r?\n/)) {
    const t = line.trim();
    if (t === '' || t.startsWith('>')) continue;
    return commandIn(t, 'body');
  }
  return null;
}
