// The command tree on one screen: each action is loaded only when it runs, so `lists list` never loads Temporal.
import { createRequire } from 'node:module';
import { Command, Option } from 'commander';
import { ConfigError, loadConfig } from '../runtime/config.js';
import { createContext, type Context } from './context.js';
import { CliError } from './errors.js';

type Action<A extends unknown[]> = (ctx: Context, ...args: A) => Promise<number | void>;

/** Prints an error as one line per line of message and returns the exit code. */
function report(err: unknown): number {
  const lines = (message: string) => message.split('\n').map((l) => `listflow: ${l}\n`).join('');
  if (err instanceof CliError) {
    process.stderr.write(lines(err.message));
    return err.exitCode;
  }
  if (err instanceof ConfigError) {
    process.stderr.write(lines(err.message));
    return 2;
  }
  const e = err as Error & { cause?: { details?: string; message?: string } };
  // Temporal's ServiceError says "Failed to query Workflow"; the why is in its cause.
  const why = e.cause?.details ?? e.cause?.message;
  const message = why && !e.message.includes(why) ? `${e.message}: ${why}` : e.message;
  process.stderr.write(lines(process.env.LISTFLOW_DEBUG ? (e.stack ?? message) : message));
  return 1;
}

export function buildProgram(setExitCode: (code: number) => void): Command {
  /** Commander passes (...arguments, options, command); the command object is dropped. */
  const run =
    <A extends unknown[]>(action: () => Promise<Action<A>>) =>
    async (...args: unknown[]): Promise<void> => {
      let ctx: Context | undefined;
      try {
        ctx = createContext(loadConfig());
        setExitCode((await (await action())(ctx, ...(args.slice(0, -1) as A))) ?? 0);
      } catch (err) {
        setExitCode(report(err));
      } finally {
        await ctx?.close();
      }
    };
  const lists = () => import('./lists.js');
  const members = () => import('./members.js');
  const moderation = () => import('./moderate.js');
  const version = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  const role = (fallback?: string) => {
    const o = new Option('--role <role>', 'owner, moderator or member').choices(['owner', 'moderator', 'member']);
    return fallback ? o.default(fallback) : o;
  };

  const program = new Command('listflow')
    .description('Manage listflow mailing lists, members and held posts (same configuration as the server).')
    .version(version)
    .showHelpAfterError('(listflow --help shows every command)');

  const l = program.command('lists').description('create, show, change and delete lists');
  l.command('create <address>')
    .description('create a list; owners become members with the owner role')
    .option('--name <name>', 'display name (default: the local part)')
    .option('--owner <address...>', 'owner address(es), after the list address')
    .action(run(() => lists().then((m) => m.listsCreate)));
  l.command('list').description('every list with its member count').option('--json', 'JSON for scripts')
    .action(run(() => lists().then((m) => m.listsList)));
  l.command('show <list>').description('settings (defaults marked) and how many members, owners and moderators')
    .option('--json', 'JSON for scripts')
    .action(run(() => lists().then((m) => m.listsShow)));
  l.command('set <list> <key=value...>').description('change settings (key=value; lists: key+=item, key-=item, key=); all checked before any is stored')
    .action(run(() => lists().then((m) => m.listsSet)));
  l.command('approval-token <list>').description('a moderator token for "Approved: <token>" posts, signed for this list')
    .option('--days <n>', 'days it stays valid (default 30)').option('--for <address>', 'whom it is issued to, shown when it approves a post')
    .option('--json', 'JSON for scripts')
    .action(run(() => import('./approval-token.js').then((m) => m.approvalToken)));
  l.command('delete <list>').description('delete a list and its roster').option('--yes', 'really delete')
    .action(run(() => lists().then((m) => m.listsDelete)));

  const m = program.command('members').description('add, remove, list members and set their moderation');
  m.command('add <list> [address...]').description('add addresses given as arguments and/or one a line from a file')
    .option('--file <file>', 'addresses, one a line; blank lines and # comments ignored ("-" reads stdin)')
    .addOption(role('member'))
    .option('--no-welcome', 'send no welcome message (default: the list\'s send_welcome_message)')
    .action(run(() => members().then((x) => x.membersAdd)));
  m.command('remove <list> <address...>').description('remove addresses').addOption(role('member'))
    .option('--no-goodbye', 'send no goodbye message (default: the list\'s send_goodbye_message)')
    .action(run(() => members().then((x) => x.membersRemove)));
  m.command('list <list>').description('members, owners and moderators').addOption(role()).option('--json', 'JSON for scripts')
    .action(run(() => members().then((x) => x.membersList)));
  m.command('set <list> <address> <setting...>').description('set a member\'s moderation=default|accept|hold|reject|discard and/or delivery_mode=regular|mime_digest|plain_digest')
    .action(run(() => members().then((x) => x.membersSet)));
  m.command('unsubscribed <list>').description('who left the list, when and how (e.g. one-click links), newest first')
    .option('--limit <n>', 'at most this many rows (default 1000)').option('--json', 'JSON for scripts')
    .action(run(() => import('./unsubscriptions.js').then((x) => x.membersUnsubscribed)));

  program.command('held [list]').description('posts waiting for a moderator (from Temporal visibility)').option('--json', 'JSON for scripts')
    .option('--from <pattern>', 'only posts from this address, or from addresses matching ^regex')
    .option('--summary', 'the number of held posts per list (fast: visibility only)')
    .action(run(() => import('./held.js').then((x) => x.held)));
  program.command('failed [list]').description('posts, requests and bounces that ended failed, with the reason (from Temporal visibility)')
    .option('--kind <kind>', 'only post, request, owner, bounce or confirm').option('--json', 'JSON for scripts')
    .action(run(() => import('./failed.js').then((x) => x.failed)));
  const decisions: Record<string, Command> = {};
  for (const [name, what] of [['approve', 'accept a held post for delivery'], ['reject', 'refuse a held post and tell the sender'], ['discard', 'drop a held post silently']] as const) {
    decisions[name] = program.command(`${name} ${name === 'discard' ? '[id]' : '<id>'}`).description(`${what}; <id> is post/<list>/<key>, the 16-hex key, or a request's subscription/<list>/<address>`)
      .option('--reason <text>', 'recorded with the decision (and told the sender on reject)')
      .action(run(() => moderation().then((x) => x[name])));
  }
  decisions.approve?.option('--edited <file.eml>', 'deliver this corrected message instead (checked, stored, sent to the workflow by its hash)');
  decisions.discard?.option('--all', 'every held post from senders matching --from')
    .option('--from <pattern>', 'with --all: an address, or ^regex')
    .option('--list <list>', 'with --all: only posts held on this list')
    .option('--ban', 'with --all: also ban the pattern on each list a post was held on')
    .option('--json', 'with --all: the outcome as JSON');
  program.command('requests [list]').description('subscription and unsubscription requests awaiting confirmation or approval (from Temporal visibility)')
    .option('--json', 'JSON for scripts')
    .action(run(() => import('./requests.js').then((x) => x.requests)));
  program.command('subscribe <list> <address>').description('invite an address: it confirms by mail or link; then the list\'s policy applies')
    .option('--digest', 'MIME digest delivery')
    .action(run(() => import('./requests.js').then((x) => x.subscribeCommand)));
  program.command('unsubscribe <list> <address>').description('ask an address to confirm it leaves (members remove acts at once)')
    .action(run(() => import('./requests.js').then((x) => x.unsubscribeCommand)));
  program.command('defer <id>').description('keep a held post held (its expiry unchanged) and record a note')
    .option('--note <text>', 'why, for the other moderators (shown by held and status)')
    .action(run(() => moderation().then((x) => x.defer)));
  const site = program.command('site').description('site-wide settings: spam-header rules for every list, auto-reply limit');
  site.command('show').description('site settings (defaults marked)').option('--json', 'JSON for scripts')
    .action(run(() => import('./site.js').then((x) => x.siteShow)));
  site.command('set <key=value...>').description('change site settings: key=value, key+=item, key-=item, key= (clear)')
    .action(run(() => import('./site.js').then((x) => x.siteSet)));
  const bans = program.command('bans').description('banned addresses and ^patterns, per list or site-wide');
  bans.command('add <pattern>').description('ban an address or ^regex (site-wide without --list)')
    .option('--list <list>', 'only on this list').option('--reason <text>', 'why, for the record')
    .action(run(() => import('./bans.js').then((x) => x.bansAdd)));
  bans.command('remove <pattern>').description('lift a ban (the pattern as listed)').option('--list <list>', 'a ban on this list')
    .action(run(() => import('./bans.js').then((x) => x.bansRemove)));
  bans.command('list').description('bans of a list (--list) or the site-wide ones').option('--list <list>', 'this list\'s bans')
    .option('--json', 'JSON for scripts').action(run(() => import('./bans.js').then((x) => x.bansList)));
  program.command('chain').description('the posting chain: each rule, its action and when it hits').option('--json', 'JSON for scripts')
    .action(run(() => import('./chain.js').then((x) => x.chain)));
  const digest = program.command('digest').description('a list\'s digest: what is pending, and sending an issue now');
  digest.command('send <list>').description('send the pending posts as an issue now (MIME and plain, as each digest member chose)')
    .action(run(() => import('./digest.js').then((x) => x.digestSend)));
  digest.command('status <list>').description('pending posts, their size against the threshold, when the next issue is due')
    .option('--json', 'JSON for scripts').action(run(() => import('./digest.js').then((x) => x.digestStatus)));
  const domains = program.command('domains').description('DKIM keys of list domains and the DNS records to publish');
  domains.command('dkim <domain>').description('make a DKIM key pair for a domain, store it, and print the DNS TXT record to publish')
    .option('--selector <s>', 'the DKIM selector (default: lf<year><month>)')
    .option('--algorithm <alg>', 'rsa (default) or ed25519').option('--bits <n>', 'RSA key size (default 2048)')
    .option('--force', 'replace the key the domain has')
    .action(run(() => import('./domains.js').then((x) => x.domainsDkim)));
  domains.command('list').description('domains with a DKIM key: selector, algorithm and the DNS record').option('--json', 'JSON for scripts')
    .action(run(() => import('./domains.js').then((x) => x.domainsList)));
  const bounces = program.command('bounces').description("bounce processing: what the detector makes of a message, and members' bounce state");
  bounces.command('parse <file>').description('the bounce detector\'s verdict on one message (.eml; "-" reads stdin): bounce or not, why, each failed recipient')
    .option('--json', 'JSON for scripts')
    .action(run(() => import('./bounces-parse.js').then((x) => x.bouncesParse)));
  bounces.command('show <list> <address>').description("a member's bounce score, state, countdown and recent bounces (its bouncer workflow)")
    .option('--json', 'JSON for scripts').action(run(() => import('./bounces.js').then((x) => x.bouncesShow)));
  bounces.command('reenable <list> <address>').description('turn delivery back on for a member disabled by bounces (cancels the removal countdown)')
    .action(run(() => import('./bounces.js').then((x) => x.bouncesReenable)));
  bounces.command('list <list>').description('members with bounce state: score, disabled, next warning or removal')
    .option('--json', 'JSON for scripts').action(run(() => import('./bounces.js').then((x) => x.bouncesList)));
  const tokens = program.command('tokens').description('bearer tokens for the HTTP API: create (shown once, stored hashed), list, revoke');
  tokens.command('create').description('make a token and print it once; API calls with it are recorded as token:<name>')
    .requiredOption('--name <name>', 'what it is for (1-64 of a-z 0-9 . _ -), unique among live tokens')
    .action(run(() => import('./tokens.js').then((x) => x.tokensCreate)));
  tokens.command('list').description('live tokens: name, created, last used (never the token)')
    .option('--all', 'revoked tokens too').option('--json', 'JSON for scripts')
    .action(run(() => import('./tokens.js').then((x) => x.tokensList)));
  tokens.command('revoke <name>').description('refuse the token from now on (the name can then be given to a new one)')
    .action(run(() => import('./tokens.js').then((x) => x.tokensRevoke)));
  program.command('status <id>').description('where a post stands: the workflow\'s status query').option('--json', 'the raw status as JSON')
    .action(run(() => import('./status.js').then((x) => x.status)));
  const archive = () => import('./archive.js');
  const ar = program.command('archive [list]').description('the archive: export, import, search, thread (archive <list> --export mbox = archive export <list>)')
    .option('--export <format>', 'mbox: write the archive as mboxrd').option('--since <date>', 'with --export: from this date on')
    .option('--output <file>', 'with --export: write to this file (default stdout)')
    .action(run(() => archive().then((x) => x.archiveLegacy)));
  ar.command('export <list>').description('write the archive as mboxrd (to stdout, or --output)')
    .option('--since <date>', 'only messages from this date on').option('--output <file>', 'write to this file')
    // The shorthand's own --since/--output are parsed first and would take these; both count.
    .action(run(() => archive().then((x) => (ctx: Context, list: string, o: { since?: string; output?: string }) => x.archiveExport(ctx, list, { ...ar.opts(), ...o }))));
  ar.command('import <list> <file>').description('file the messages of an mbox export (Mailman 2.1, HyperKitty, mlmmj); duplicates by Message-ID skipped')
    .action(run(() => archive().then((x) => x.archiveImport)));
  ar.command('search <list> <query...>').description('full-text search (words, "phrases", or, -word), best match first')
    .option('--json', 'JSON for scripts').option('--limit <n>', 'at most this many (default 20)')
    .action(run(() => archive().then((x) => x.archiveSearch)));
  ar.command('thread <list> <hash>').description('the thread of a message, by its Message-ID hash').option('--json', 'JSON for scripts')
    .action(run(() => archive().then((x) => x.archiveThread)));
  return program;
}
