// Why a recipient bounced, from its diagnostic text and RFC 3463 status: the member's problem (no such user, dead
// domain, full or disabled mailbox) or the list's (policy, authentication, spam or reputation blocks).
// The words come first because real servers misuse status codes: Gmail answers "5.7.1 No such user",
// Exchange "5.7.0 mailbox has exceeded its disk space limit", qmail "badrcptto ... (#5.7.1)".

export type BounceCategory = 'user_unknown' | 'domain_error' | 'over_quota' | 'user_disabled' | 'policy' | 'spam' | 'unknown';

export const BOUNCE_CATEGORIES: readonly BounceCategory[] = ['user_unknown', 'domain_error', 'over_quota', 'user_disabled', 'policy', 'spam', 'unknown'];

/** Categories that are the sending list's problem, not the member's: they do not count against the member. */
export const LIST_PROBLEMS: ReadonlySet<BounceCategory> = new Set(['policy', 'spam']);

// Refusals of the sender, its host or its authentication: whatever follows, the list is the one refused.
const SENDER_SIDE =
  /(sender address rejected|sender (address |domain )?(is )?(denied|refused|blocked|not (allowed|authorized|permitted))|client host rejected|helo command rejected|reverse (dns|lookup)|\bptr record|not authorized to send|unauthenticated (email|mail|sender)|\b(dmarc|spf|dkim)\b|sender policy framework|domainkeys|authentication (failed|failure|required)|failed (the )?authentication|does not (pass|meet) (our |the )?authentication)/i;

const OVER_QUOTA =
  /(quota|mailbox (is )?full|(mail ?box|inbox|account|mailfolder) (is )?(full|over ?(the )?(limit|size))|exceeded (its|the|his|her|their)? ?(storage|disk|mailbox|size|space|allocation)? ?(space )?(limit|allocation|quota)|mailbox size limit|mailbox exceeds|(has )?too many messages (in|on)|insufficient (system )?storage|out of (disk )?(space|storage)|storage (space )?(is )?(full|exceeded)|receiving mail (at a rate|too fast)|postfach (ist )?voll|boîte (aux lettres )?pleine)/i;

const USER_DISABLED =
  /(account (has been |is )?(disabled|suspended|deactivated|closed|terminated|locked|frozen|expired|inactive)|mailbox (has been |is )?(disabled|suspended|deactivated|closed|locked|inactive)|(is|has been) (disabled|suspended|deactivated)\b|user (is )?(inactive|disabled|suspended)|\binactive (account|user|mailbox)|deactivated (mailbox|account)|account (is )?not active|no longer active)/i;

const DOMAIN_ERROR =
  /(host (or domain name )?(unknown|not found)|unknown host|domain (name )?(not found|does not exist|unknown|invalid)|no such domain|name service error|name or service not known|\bnxdomain\b|no (mx|mail exchanger|valid mx)|non-?existent host|unrouteable (mail )?domain|no route to host|relay(ing)? (access )?(denied|not permitted|prohibited)|relay not permitted|not (a )?relay|(use|using) me (\S+ ){0,3}as a relay|(allowed )?rcpthosts|we do not relay|not (in|on) (my|our) list of (allowed )?(hosts|domains)|domain isn'?t in my list|dns (error|lookup failed|failure))/i;

const USER_UNKNOWN =
  /(user (is )?unknown|unknown (user|recipient|mailbox|local[- ]part|address)|no such (user|recipient|mailbox|account|address|person)|(user|recipient|mailbox|account|address|addressee) (\S+ )?(does not|doesn'?t|did not) exist|(does not|doesn'?t) have an? \S+ account|not (a )?(known|valid|recognized|recognised) (user|recipient|mailbox|address|account)|is not a known user|invalid (recipient|mailbox|user|address)|(recipient|mailbox|user|address) (not found|unknown|invalid|unavailable)|mail ?-?box (not found|unavailable|not available|does not exist)|no mail ?box|mailbox not available|unrouteable address|recipient address rejected|recipient rejected|bad[_ ]?(recipient|rcpt|destination mailbox)|badrcptto|not our customer|no longer (on|at|with|valid|available)|not an? (active|valid) (address|user|mailbox)|addressee unknown|unknown or illegal alias|not listed in (\S+ ){0,4}(directory|address book)|does not exist|nie istnieje|unbekannt|existiert nicht|inexistant)/i;

// Blocks for what the list's mail looks like or where it comes from: spam filters, block lists, reputation.
const SPAM =
  /(spam|junk|\bube\b|\bbulk (e-?mail|mail)\b|classified as bulk|unsolicited|blacklist|blocklist|block list|black list|denylist|\brbl\b|\bdnsbl\b|\buribl\b|\bsurbl\b|spamhaus|spamcop|sorbs|barracuda|blocked using|listed (at|in|on|by)|reputation|content (filter|rejected|reject)|message content rejected|mass mailer|virus|malware|phish|suspicious|\bscored? \d|too many (complaints|recipients)|user complaints|unexpected volume|rate limit|\[ts[s0-9]+\]|\b(mimecast|proofpoint|ironport|messagelabs|postini|psmtp)\b)/i;

const POLICY =
  /(polic(y|ies)|prohibit|not (allowed|authorized|permitted|accepted)|administrativ|access denied|denied|(?<!connection )refused|blocked|banned|rejected for|message rejected|delivery not authorized|security)/i;

const STATUS = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/;

/**
 * The first category whose words the diagnostic uses, else the one its RFC 3463 status implies (the more specific
 * of the Status field and a status quoted in the diagnostic). Diagnostics are read up to 2,000 characters.
 */
export function classifyDiagnostic(diagnostic: string | null, status: string | null): BounceCategory {
  const text = (diagnostic ?? '').slice(0, 2000);
  if (SENDER_SIDE.test(text)) return 'policy';
  if (OVER_QUOTA.test(text)) return 'over_quota';
  if (USER_DISABLED.test(text)) return 'user_disabled';
  if (DOMAIN_ERROR.test(text)) return 'domain_error';
  if (USER_UNKNOWN.test(text)) return 'user_unknown';
  if (SPAM.test(text)) return 'spam';
  if (POLICY.test(text)) return 'policy';
  const quoted = STATUS.exec(text)?.[0] ?? null;
  const specific = [status, quoted].find((s) => s && !/^\d\.0\.0$/.test(s)) ?? status ?? quoted;
  return classifyStatus(specific);
}

/** From the RFC 3463 status alone, when the text says nothing that can be read. */
export function classifyStatus(status: string | null): BounceCategory {
  if (!status) return 'unknown';
  const [, subject, detail] = status.split('.');
  const sd = `${subject}.${detail}`;
  if (subject === '7') return 'policy';
  if (sd === '1.2' || sd === '4.4' || sd === '4.0' || sd === '4.1') return 'domain_error';
  if (subject === '1') return 'user_unknown';
  if (sd === '2.2') return 'over_quota';
  if (sd === '2.1') return 'user_disabled';
  return 'unknown';
}
