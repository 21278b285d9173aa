// Email commands: the message is read by an activity, each command runs as an activity, in order, and one reply
// tells the sender what became of each. Automatic mail is neither acted on nor answered.
import { ActivityFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { CoreActivities, OutboundActivities } from '../activities/index.js';
import type { ParsedCommand } from '../mail/commands.js';
import { endsFailed } from './failure.js';
import type { tracker } from './inbound.js';
import type { CommandResult, InboundMail, MailStatus, SubscriptionRequest } from './messages.js';

/** The patch that turned requestWorkflow's help reply into command processing (old histories replay without it). */
export const EMAIL_COMMANDS_PATCH = 'email-commands';

const core = proxyActivities<CoreActivities>({
  startToCloseTimeout: '2m',
  // A command that keeps failing is reported as failed rather than retried for ever: the sender can ask again.
  retry: { initialInterval: '1s', maximumInterval: '1m', backoffCoefficient: 2, maximumAttempts: 8 },
});

const capitalised = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

function failed(cmd: ParsedCommand, err: unknown): CommandResult {
  const why = err instanceof ActivityFailure ? (err.cause?.message ?? err.message) : (err as Error).message;
  return { line: cmd.line, outcome: 'refused', lines: [`Failed: it could not be carried out now (${why}). Please try again later, or ask the list owners.`] };
}

async function runOne(mail: InboundMail, deliveryTaskQueue: string, sender: string, cmd: ParsedCommand): Promise<CommandResult> {
  if (cmd.problem) return { line: cmd.line, outcome: 'refused', lines: [capitalised(cmd.problem)] };
  switch (cmd.name) {
    case 'end':
      return { line: cmd.line, outcome: 'done', lines: ['End of commands.'] };
    case 'subscribe':
    case 'unsubscribe':
      return membership(mail, deliveryTaskQueue, sender, cmd);
    case 'confirm': {
      const r = await core.applyToken({ list: mail.list, token: cmd.token ?? '', by: sender, via: 'command', claimedBy: workflowInfo().workflowId });
      return { line: cmd.line, outcome: r.state === 'applied' ? 'done' : 'refused', lines: [r.headline, ...r.details.filter((d) => d !== '')] };
    }
    default:
      return core.listCommand({ list: mail.list, sender, command: cmd });
  }
}

/**
 * subscribe/join/unsubscribe/leave: a request under the list's policy (requestSubscription validates it and starts
 * subscription/<list>/<address>). Another address than the sender's always confirms itself, so naming one is safe.
 */
async function membership(mail: InboundMail, deliveryTaskQueue: string, sender: string, cmd: ParsedCommand): Promise<CommandResult> {
  const action = cmd.name === 'subscribe' ? 'subscribe' : 'unsubscribe';
  const request: SubscriptionRequest = {
    list: mail.list,
    address: cmd.address ?? sender,
    action,
    ...(action === 'subscribe' && cmd.digest ? { deliveryMode: cmd.digest } : {}),
    via: 'mail',
    requestedBy: sender,
    requestedAt: new Date().toISOString(),
  };
  const r = await core.requestSubscription({ request, deliveryTaskQueue });
  const outcome: CommandResult['outcome'] = r.outcome === 'started' ? 'done' : r.outcome === 'pending' ? 'pending' : 'refused';
  const lead = r.outcome === 'refused' ? 'Refused: ' : r.outcome === 'pending' ? 'Nothing new was sent: ' : '';
  const text = `${lead}${r.detail}`;
  return { line: cmd.line, outcome, lines: [`${capitalised(text)}${/[.!?]$/.test(text) ? '' : '.'}`] };
}

export async function runEmailCommands(mail: InboundMail, options: { deliveryTaskQueue: string }, t: ReturnType<typeof tracker>): Promise<MailStatus> {
  let read: Awaited<ReturnType<typeof core.readCommands>>;
  try {
    read = await core.readCommands({ list: mail.list, sha256: mail.sha256, envelopeFrom: mail.envelopeFrom, rcptTo: mail.rcptTo });
  } catch (err) {
    // Since FAILED_STATE_PATCH the owners are told too (requestWorkflow's catch); before, only the status said it.
    if (endsFailed(err)) throw err;
    // The message stays in the store; the operator sees why nothing was done.
    const why = err instanceof ActivityFailure ? (err.cause?.message ?? err.message) : (err as Error).message;
    return t.finish('failed', `the message could not be read: ${why}`);
  }
  t.status.subject = read.subject;
  t.status.messageId = read.messageId;
  if (read.ignore || !read.sender) return t.finish('ignored', `not acted on and not answered: ${read.ignore ?? 'no sender'}`);
  const sender = read.sender;
  const results: CommandResult[] = [];
  t.status.commands = results;
  t.status.state = 'running';
  for (const cmd of read.scan.commands) {
    const slot: CommandResult = { line: cmd.line, outcome: 'running', lines: [] };
    results.push(slot);
    let r: CommandResult;
    try {
      r = await runOne(mail, options.deliveryTaskQueue, sender, cmd);
    } catch (err) {
      r = failed(cmd, err);
    }
    Object.assign(slot, r, { line: cmd.line });
  }
  const summary = results.length ? results.map((r) => `${r.line.split(/\s+/)[0]?.toLowerCase() ?? ''} ${r.outcome}`).join(', ') : 'no command';

  const outbound = proxyActivities<OutboundActivities>({
    taskQueue: options.deliveryTaskQueue,
    startToCloseTimeout: '5m',
    scheduleToCloseTimeout: '1d',
    retry: { initialInterval: '30s', maximumInterval: '30m', backoffCoefficient: 2 },
  });
  let told: string;
  try {
    const r = await outbound.sendCommandReply({
      list: mail.list,
      to: sender,
      ref: `${workflowInfo().workflowId} reply`,
      inReplyTo: read.messageId,
      reply: { address: read.address, results, scan: { ignoredSubject: read.scan.ignoredSubject, stop: read.scan.stop, unknown: read.scan.unknown } },
    });
    told = r.skipped ? `no reply: ${r.skipped}` : r.sent.length ? `reply sent to ${r.sent.join(', ')}` : `the reply was refused for ${r.failed.join(', ')}`;
  } catch (err) {
    // What the commands did stands whether or not the answer reaches the sender.
    told = `the reply could not be sent (${err instanceof ActivityFailure ? (err.cause?.message ?? err.message) : (err as Error).message})`;
  }
  return t.finish('answered', `${summary}; ${told}`);
}
