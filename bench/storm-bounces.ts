// Realistic bounces for the bounce storm: what Postfix, Exim, qmail, Sendmail, Gmail, Exchange Online and Yahoo
// send back to a list's VERP return path when a stale list's members have gone, filled up, or block the list.
import { randomBytes } from 'node:crypto';

export interface StormBounce {
  raw: Buffer;
  /** The -bounces+VERP address the bounce is sent to. */
  to: string;
  /** What the sender would take it for: permanent, temporary, or policy (the list's problem). */
  expected: 'permanent' | 'temporary' | 'policy';
  format: string;
}

interface Format {
  name: string;
  share: number;
  expected: StormBounce['expected'];
  build(o: { member: string; returnPath: string; list: string; originalId: string; date: string; id: string }): string;
}

const mta = (domain: string) => `mx${domain.length % 4}.${domain}`;
const domainOf = (a: string) => a.slice(a.indexOf('@') + 1);

function dsn(o: { from: string; to: string; subject: string; date: string; id: string; text: string; reporting: string; member: string; action: string; status: string; diagnostic: string; list: string; originalId: string }): string {
  const b = `=_${o.id.slice(0, 12)}`;
  return [
    'Return-Path: <>',
    `From: ${o.from}`,
    `To: ${o.to}`,
    `Subject: ${o.subject}`,
    `Date: ${o.date}`,
    `Message-ID: <${o.id}@${o.reporting}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${b}"`,
    '',
    `--${b}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    o.text,
    '',
    `--${b}`,
    'Content-Type: message/delivery-status',
    '',
    `Reporting-MTA: dns; ${o.reporting}`,
    `Arrival-Date: ${o.date}`,
    '',
    `Final-Recipient: rfc822; ${o.member}`,
    `Original-Recipient: rfc822; ${o.member}`,
    `Action: ${o.action}`,
    `Status: ${o.status}`,
    `Remote-MTA: dns; ${mta(domainOf(o.member))}`,
    `Diagnostic-Code: smtp; ${o.diagnostic}`,
    '',
    `--${b}`,
    'Content-Type: text/rfc822-headers',
    '',
    `From: Stale List <${o.list}>`,
    `To: ${o.list}`,
    'Subject: [Stale] annual reminder',
    `Message-ID: <${o.originalId}>`,
    '',
    `--${b}--`,
    '',
  ].join('\r\n');
}

const FORMATS: Format[] = [
  {
    name: 'Postfix DSN, user unknown',
    share: 20,
    expected: 'permanent',
    build: (o) =>
      dsn({
        ...o,
        from: `MAILER-DAEMON@${mta(domainOf(o.member))} (Mail Delivery System)`,
        to: o.returnPath,
        subject: 'Undelivered Mail Returned to Sender',
        reporting: mta(domainOf(o.member)),
        text: `This is the mail system at host ${mta(domainOf(o.member))}.\r\n\r\nI'm sorry to have to inform you that your message could not\r\nbe delivered to one or more recipients.\r\n\r\n<${o.member}>: host ${mta(domainOf(o.member))}[198.51.100.7] said: 550 5.1.1 <${o.member}>:\r\n    Recipient address rejected: User unknown in virtual mailbox table`,
        action: 'failed',
        status: '5.1.1',
        diagnostic: `550 5.1.1 <${o.member}>: Recipient address rejected: User unknown in virtual mailbox table`,
      }),
  },
  {
    name: 'Exim text, no such user',
    share: 15,
    expected: 'permanent',
    build: (o) =>
      [
        'Return-path: <>',
        `From: Mail Delivery System <Mailer-Daemon@${mta(domainOf(o.member))}>`,
        `To: ${o.returnPath}`,
        'Subject: Mail delivery failed: returning message to sender',
        'Auto-Submitted: auto-replied',
        `Message-Id: <E1${o.id.slice(0, 6)}-000${o.id.slice(6, 9)}-${o.id.slice(9, 11)}@${mta(domainOf(o.member))}>`,
        `Date: ${o.date}`,
        '',
        'This message was created automatically by mail delivery software.',
        '',
        'A message that you sent could not be delivered to one or more of its',
        'recipients. This is a permanent error. The following address(es) failed:',
        '',
        `  ${o.member}`,
        `    SMTP error from remote mail server after RCPT TO:<${o.member}>:`,
        `    host ${mta(domainOf(o.member))} [198.51.100.9]: 550 5.1.1 No such user here`,
        '',
        '------ This is a copy of the message, including all the headers. ------',
        '',
        `Return-path: <${o.returnPath}>`,
        `From: Stale List <${o.list}>`,
        `Message-ID: <${o.originalId}>`,
        'Subject: [Stale] annual reminder',
        '',
        'The annual reminder.',
        '',
      ].join('\r\n'),
  },
  {
    name: 'qmail text, no mailbox',
    share: 10,
    expected: 'permanent',
    build: (o) =>
      [
        'Return-Path: <>',
        `From: MAILER-DAEMON@${mta(domainOf(o.member))}`,
        `To: ${o.returnPath}`,
        'Subject: failure notice',
        `Date: ${o.date}`,
        `Message-ID: <${o.id}.qmail@${mta(domainOf(o.member))}>`,
        '',
        `Hi. This is the qmail-send program at ${mta(domainOf(o.member))}.`,
        "I'm afraid I wasn't able to deliver your message to the following addresses.",
        'This is a permanent error; I\'ve given up. Sorry it didn\'t work out.',
        '',
        `<${o.member}>:`,
        'Sorry, no mailbox here by that name. (#5.1.1)',
        '',
        '--- Below this line is a copy of the message.',
        '',
        `Return-Path: <${o.returnPath}>`,
        `Message-ID: <${o.originalId}>`,
        'Subject: [Stale] annual reminder',
        '',
      ].join('\r\n'),
  },
  {
    name: 'Gmail DSN, no such user or over quota',
    share: 15,
    expected: 'permanent',
    build: (o) => {
      const quota = o.id.charCodeAt(0) % 2 === 0;
      return dsn({
        ...o,
        from: 'Mail Delivery Subsystem <mailer-daemon@googlemail.com>',
        to: o.returnPath,
        subject: 'Delivery Status Notification (Failure)',
        reporting: 'googlemail.com',
        text: quota ? '** Message not delivered **' : '** Address not found **',
        action: 'failed',
        status: quota ? '5.2.2' : '5.1.1',
        diagnostic: quota
          ? "552-5.2.2 The recipient's inbox is out of storage space and inactive. https://support.google.com/mail/?p=OverQuotaPerm - gsmtp"
          : '550-5.1.1 The email account that you tried to reach does not exist. https://support.google.com/mail/?p=NoSuchUser - gsmtp',
      });
    },
  },
  {
    name: 'Exchange Online DSN, recipient not found',
    share: 10,
    expected: 'permanent',
    build: (o) =>
      dsn({
        ...o,
        from: 'postmaster@outlook.com',
        to: o.returnPath,
        subject: 'Undeliverable: [Stale] annual reminder',
        reporting: 'DB8EUR05HT123.mail.protection.outlook.com',
        text: `Delivery has failed to these recipients or groups:\r\n\r\n${o.member}\r\nThe email address you entered couldn't be found.`,
        action: 'failed',
        status: '5.1.10',
        diagnostic: '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup',
      }),
  },
  {
    name: 'Sendmail DSN, user unknown',
    share: 8,
    expected: 'permanent',
    build: (o) =>
      dsn({
        ...o,
        from: `Mail Delivery Subsystem <MAILER-DAEMON@${mta(domainOf(o.member))}>`,
        to: o.returnPath,
        subject: 'Returned mail: see transcript for details',
        reporting: mta(domainOf(o.member)),
        text: `The original message was received at ${o.date}\r\n\r\n   ----- The following addresses had permanent fatal errors -----\r\n<${o.member}>\r\n    (reason: 550 5.1.1 <${o.member}>... User unknown)`,
        action: 'failed',
        status: '5.1.1',
        diagnostic: `550 5.1.1 <${o.member}>... User unknown`,
      }),
  },
  {
    name: 'Postfix DSN, delayed (temporary)',
    share: 12,
    expected: 'temporary',
    build: (o) =>
      dsn({
        ...o,
        from: `MAILER-DAEMON@${mta(domainOf(o.member))} (Mail Delivery System)`,
        to: o.returnPath,
        subject: 'Delayed Mail (still being retried)',
        reporting: mta(domainOf(o.member)),
        text: `This is the mail system at host ${mta(domainOf(o.member))}.\r\n\r\n####################################################################\r\n# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\r\n####################################################################\r\n\r\nYour message could not be delivered for more than 4 hour(s).\r\nIt will be retried until it is 5 day(s) old.`,
        action: 'delayed',
        status: '4.4.1',
        diagnostic: `connect to ${mta(domainOf(o.member))}[198.51.100.12]:25: Connection timed out`,
      }),
  },
  {
    name: 'Yahoo text, policy refusal',
    share: 6,
    expected: 'policy',
    build: (o) =>
      [
        'Return-Path: <>',
        'From: MAILER-DAEMON@yahoo.com',
        `To: ${o.returnPath}`,
        'Subject: Failure Notice',
        `Date: ${o.date}`,
        `Message-ID: <${o.id}.MAILERDAEMON@mta4012.mail.gq1.yahoo.com>`,
        '',
        'Sorry, we were unable to deliver your message to the following address.',
        '',
        `<${o.member}>:`,
        '554: 5.7.9 Message not accepted for policy reasons.  See https://postmaster.yahooinc.com/error-codes',
        '',
        '--- Below this line is a copy of the message.',
        '',
        `Message-ID: <${o.originalId}>`,
        'Subject: [Stale] annual reminder',
        '',
      ].join('\r\n'),
  },
  {
    name: 'Gmail DSN, DMARC/SPF/DKIM refusal',
    share: 4,
    expected: 'policy',
    build: (o) =>
      dsn({
        ...o,
        from: 'Mail Delivery Subsystem <mailer-daemon@googlemail.com>',
        to: o.returnPath,
        subject: 'Delivery Status Notification (Failure)',
        reporting: 'googlemail.com',
        text: '** Message blocked **',
        action: 'failed',
        status: '5.7.26',
        diagnostic: '550-5.7.26 This mail is unauthenticated, which poses a security risk to the sender and Gmail users, and has been blocked. The sender must authenticate with at least one of SPF or DKIM.',
      }),
  },
];

/** Shares add up to 100; the i-th bounce takes the format its spread-out slot falls in. */
const SLOTS: Format[] = FORMATS.flatMap((f) => Array.from({ length: f.share }, () => f));

export function formatShares(): { name: string; share: number; expected: string }[] {
  return FORMATS.map((f) => ({ name: f.name, share: f.share, expected: f.expected }));
}

/** The list's VERP return path for a member token: <local>-bounces+<token>@<domain>. */
export function verpAddress(list: string, token: string): string {
  const at = list.lastIndexOf('@');
  return `${list.slice(0, at)}-bounces+${token}@${list.slice(at + 1)}`;
}

/** The i-th bounce of the storm, for `member` whose VERP token is `token`. */
export function stormBounce(i: number, list: string, member: string, token: string, originalId: string): StormBounce {
  const format = SLOTS[(i * 37) % SLOTS.length] as Format;
  const to = verpAddress(list, token);
  const raw = format.build({ member, returnPath: to, list, originalId, date: new Date().toUTCString(), id: randomBytes(12).toString('hex') });
  return { raw: Buffer.from(raw), to, expected: format.expected, format: format.name };
}
