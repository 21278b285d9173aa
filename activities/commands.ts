// Email commands (-request, -join, -leave): reading them from the stored message, and the commands that only read
// the list (help, info, who, echo). Subscriptions and confirmations have their own core activities.
import { AddressError, normalizeAddress, parseListRecipient } from '../mail/address.js';
import { helpLines, infoLines, MAX_WHO, whoLines } from '../mail/command-replies.js';
import { commandBodyText, scanCommands, type CommandScan, type ParsedCommand, type RequestAddress } from '../mail/commands.js';
import { clean, noAutoReplyReason, readFacts } from '../mail/message.js';
import { getList } from '../store/lists.js';
import { countByRole, findMember } from '../store/members.js';
import { getMessage } from '../store/messages.js';
import { rosterPage } from '../store/roster.js';
import type { CommandResult } from '../workflows/messages.js';
import type { ActivityDeps } from './deps.js';

export interface CommandMessage {
  /** Why the message is neither acted on nor answered (automatic mail, no list, no address to answer); else null. */
  ignore: string | null;
  address: RequestAddress;
  /** Who is answered and whom "subscribe" without an address means: From, else the envelope sender, validated. */
  sender: string | null;
  subject: string;
  messageId: string;
  scan: CommandScan;
}

const emptyScan: CommandScan = { commands: [], ignoredSubject: null, stop: null, unknown: null };

function valid(address: string | null | undefined): string | null {
  if (!address) return null;
  try {
    return normalizeAddress(address);
  } catch (err) {
    if (err instanceof AddressError) return null;
    throw err;
  }
}

export function createCommandActivities(deps: ActivityDeps) {
  return {
    /** Reads the commands of a stored -request/-join/-leave message (a pure parse; the result is small and bounded). */
    async readCommands(input: { list: string; sha256: string; envelopeFrom: string; rcptTo: string }): Promise<CommandMessage> {
      const raw = await getMessage(deps.db, input.sha256);
      const facts = readFacts(raw);
      const recipient = parseListRecipient(input.rcptTo, (a) => a === input.list.toLowerCase());
      const address: RequestAddress = recipient?.kind === 'join' || recipient?.kind === 'leave' ? recipient.kind : 'request';
      const base = { address, subject: facts.subject, messageId: facts.messageId };
      const list = await getList(deps.db, input.list);
      if (!list) return { ...base, ignore: 'the list no longer exists', sender: null, scan: emptyScan };
      // RFC 3834: automatic mail is neither answered nor acted on (a vacation reply quoting "unsubscribe" does nothing).
      const why = noAutoReplyReason(facts, input.envelopeFrom);
      if (why) return { ...base, ignore: why, sender: null, scan: emptyScan };
      const sender = valid(facts.from) ?? valid(input.envelopeFrom);
      if (!sender) return { ...base, ignore: 'neither From nor the envelope sender is a valid address to answer', sender: null, scan: emptyScan };
      const scan = scanCommands({ subject: facts.subject, body: address === 'request' ? commandBodyText(raw) : '', address });
      return { ...base, ignore: null, sender, scan };
    },

    /** help, info, who and echo: they read the list and change nothing. */
    async listCommand(input: { list: string; sender: string; command: ParsedCommand }): Promise<CommandResult> {
      const { command } = input;
      const result = (outcome: CommandResult['outcome'], lines: string[]): CommandResult => ({ line: command.line, outcome, lines });
      const list = await getList(deps.db, input.list);
      if (!list) return result('refused', [`Refused: the list ${input.list} no longer exists.`]);
      switch (command.name) {
        case 'help':
          return result('done', helpLines(list.address, list.displayName));
        case 'echo':
          return result('done', [command.text ?? '']);
        case 'info': {
          const open = list.settings.member_roster_visibility === 'public';
          const memberCount = open ? (await countByRole(deps.db, list.id)).member : null;
          return result('done', infoLines({ list: list.address, displayName: list.displayName, settings: list.settings, memberCount }));
        }
        case 'who': {
          const visibility = list.settings.member_roster_visibility;
          if (visibility !== 'public') {
            const roles = (await findMember(deps.db, list.id, input.sender)).map((m) => m.role);
            const staff = roles.includes('owner') || roles.includes('moderator');
            const allowed = visibility === 'members' ? staff || roles.includes('member') : staff;
            if (!allowed) {
              const whom = visibility === 'members' ? 'its members' : 'its moderators and owners';
              return result('refused', [`Refused: the member list of ${list.address} is shown only to ${whom}, and ${clean(input.sender)} is not one.`]);
            }
          }
          const page = await rosterPage(deps.db, list.id, MAX_WHO);
          return result('done', whoLines(list.address, page.addresses, page.total));
        }
        default:
          return result('refused', [`Refused: "${command.name}" is not answered here.`]);
      }
    },
  };
}
