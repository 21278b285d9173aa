// Reading email commands the way Mailman does (subject, then the body one per line, stopping at end, a signature
// or the first non-command), bounded against hostile mail; and the reply that quotes them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commandReply, helpLines, infoLines, MAX_WHO, whoLines } from '../../mail/command-replies.js';
import {
  commandBodyText,
  MAX_COMMANDS,
  MAX_LINES_SCANNED,
  parseCommandLine,
  scanCommands,
  subjectCommandText,
  type ParsedCommand,
} from '../../mail/commands.js';
import { resolveSettings } from '../../mail/settings.js';

const request = (subject: string, body = '') => scanCommands({ subject, body, address: 'request' });
const names = (cmds: ParsedCommand[]) => cmds.map((c) => c.name);
const TOKEN = 'abcdefghijklmnopqrstuvwxyz234567abcd';
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

describe('email commands: the subject', () => {
  const cases: [string, string, Partial<ParsedCommand> | null][] = [
    ['a bare command', 'subscribe', { name: 'subscribe' }],
    ['upper case', 'HELP', { name: 'help' }],
    ['join is subscribe, leave is unsubscribe', 'Join', { name: 'subscribe' }],
    ['a reply to a confirmation', `Re: confirm ${TOKEN}`, { name: 'confirm', token: TOKEN }],
    ['reply and forward prefixes in several languages and a [list] tag', `AW: Fwd: [Dev] confirm ${TOKEN.toUpperCase()}`, { name: 'confirm', token: TOKEN }],
    ['a sentence is not a command', 'Please add me to the list', null],
    ['a command word inside a sentence is not a command', 'I want to subscribe', null],
  ];
  for (const [what, subject, expected] of cases) {
    it(what, () => {
      const scan = request(subject);
      if (expected === null) {
        assert.deepEqual(scan.commands, []);
        assert.equal(scan.ignoredSubject, subject);
      } else {
        assert.equal(scan.commands.length, 1);
        assert.equal(scan.commands[0]?.source, 'subject');
        for (const [k, v] of Object.entries(expected)) assert.equal((scan.commands[0] as unknown as Record<string, unknown>)[k], v, k);
      }
    });
  }

  it('strips stacked prefixes', () => {
    assert.equal(subjectCommandText('Re: RE: Fwd: AW: WG: SV: help'), 'help');
    assert.equal(subjectCommandText('Re[2]: [dev] who'), 'who');
  });
});

describe('email commands: the body', () => {
  it('reads one per line, skipping blank and quoted lines, and stops at "end"', () => {
    const scan = request('', '\n\nhelp\n\n> subscribe\ninfo\nend\nwho\n');
    assert.deepEqual(names(scan.commands), ['help', 'info', 'end']);
    assert.deepEqual(scan.stop, { reason: 'end', line: 'end', unread: 1 });
    assert.equal(scan.unknown, null);
  });

  it('stop is a synonym of end (Mailman 3)', () => {
    assert.deepEqual(names(request('', 'info\nstop\nwho').commands), ['info', 'end']);
  });

  for (const sig of ['-- ', '--', '___________', '-----Original Message-----']) {
    it(`stops at the separator ${JSON.stringify(sig)}`, () => {
      const scan = request('', `who\n${sig}\nsubscribe\nBob, Example Inc.\n`);
      assert.deepEqual(names(scan.commands), ['who']);
      assert.equal(scan.stop?.reason, 'signature');
      assert.equal(scan.stop?.unread, 2);
    });
  }

  it('stops at the first line that is not a command, and does not run what follows', () => {
    const scan = request('', 'info\nThanks a lot!\nunsubscribe\n');
    assert.deepEqual(names(scan.commands), ['info']);
    assert.deepEqual(scan.stop, { reason: 'not-a-command', line: 'Thanks a lot!', unread: 1 });
    assert.equal(scan.unknown, null, 'a non-command after commands is where reading stops, not an error');
  });

  it('an unknown first command is reported as unknown', () => {
    const scan = request('', 'subscirbe\nsubscribe\n');
    assert.deepEqual(scan.commands, []);
    assert.equal(scan.unknown, 'subscirbe');
  });

  it('a reply quoting a confirmation: the subject confirms, the attribution line stops the body', () => {
    const scan = request(`Re: confirm ${TOKEN}`, `\nOn Monday, dev-request@lists.example wrote:\n> confirm ${TOKEN}\n> To confirm, reply\n`);
    assert.deepEqual(names(scan.commands), ['confirm']);
    assert.equal(scan.stop?.reason, 'not-a-command');
    assert.equal(scan.unknown, null);
  });

  it('the same command in subject and body is run once', () => {
    const scan = request('subscribe', 'subscribe\nsubscribe other@example.org\n');
    assert.equal(scan.commands.length, 3);
    assert.equal(scan.commands[0]?.problem, undefined);
    assert.match(scan.commands[1]?.problem ?? '', /^skipped: the same as an earlier command/);
    assert.equal(scan.commands[2]?.problem, undefined);
    assert.equal(scan.commands[2]?.address, 'other@example.org');
  });

  it('"end" in the subject ends everything', () => {
    const scan = request('end', 'subscribe\n');
    assert.deepEqual(names(scan.commands), ['end']);
    assert.equal(scan.stop?.reason, 'end');
  });

  it('words that are properties of every object are not commands', () => {
    for (const word of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      assert.equal(parseCommandLine(word, 'body'), null, word);
      assert.match(parseCommandLine(`subscribe digest=${word}`, 'body')?.problem ?? '', /not one of digest=no/);
    }
  });
});

describe('email commands: -join and -leave', () => {
  it('-join means subscribe the sender, whatever the subject and body say', () => {
    const scan = scanCommands({ subject: 'unsubscribe', body: 'unsubscribe someone@example.org\nwho\n', address: 'join' });
    assert.deepEqual(scan.commands, [{ name: 'subscribe', line: 'join', source: 'address' }]);
  });
  it('-leave means unsubscribe the sender', () => {
    const scan = scanCommands({ subject: 'subscribe digest', body: 'help', address: 'leave' });
    assert.deepEqual(scan.commands, [{ name: 'unsubscribe', line: 'leave', source: 'address' }]);
  });
});

describe('email commands: subscribe and unsubscribe arguments', () => {
  const ok: [string, Partial<ParsedCommand>][] = [
    ['subscribe', { name: 'subscribe' }],
    ['subscribe digest', { digest: 'mime_digest' }],
    ['subscribe nodigest', { digest: 'regular' }],
    ['join digest=mime', { digest: 'mime_digest' }],
    ['join digest=plain', { digest: 'plain_digest' }],
    ['join digest=no', { digest: 'regular' }],
    ['subscribe Bob@Example.ORG', { address: 'Bob@example.org' }],
    ['subscribe address=bob@example.org', { address: 'bob@example.org' }],
    ['subscribe digest bob@example.org', { digest: 'mime_digest', address: 'bob@example.org' }],
    ['subscribe bob@example.org nodigest', { digest: 'regular', address: 'bob@example.org' }],
    ['join address=bob@example.org digest=plain', { digest: 'plain_digest', address: 'bob@example.org' }],
    ['unsubscribe', { name: 'unsubscribe' }],
    ['leave address=bob@example.org', { name: 'unsubscribe', address: 'bob@example.org' }],
    ['UNSUBSCRIBE bob@bücher.example', { name: 'unsubscribe', address: 'bob@xn--bcher-kva.example' }],
  ];
  for (const [line, expected] of ok) {
    it(line, () => {
      const c = parseCommandLine(line, 'body');
      assert.ok(c, 'a command');
      assert.equal(c.problem, undefined, c.problem);
      for (const [k, v] of Object.entries(expected)) assert.equal((c as unknown as Record<string, unknown>)[k], v, k);
    });
  }

  const refused: [string, RegExp][] = [
    ['subscribe mypassword', /"mypassword" is not understood here/],
    ['subscribe digest=weekly', /digest=weekly is not one of digest=no, digest=mime, digest=plain/],
    ['subscribe digest nodigest', /digest is given twice/],
    ['subscribe a@example.org b@example.org', /only one address per command/],
    ['unsubscribe digest', /"digest" is not understood here \(expected an address\)/],
    ['subscribe <bob@example.org>', /not a plain address/],
    ['subscribe address=<bob@example.org>', /not a plain address/],
    ['subscribe bob@example.org,eve@example.org', /not a plain address/],
    ['subscribe bob@localhost', /is not a domain name/],
    ['subscribe @example.org', /is not an address/],
    [`subscribe ${'a'.repeat(70)}@example.org`, /local part is longer than 64 octets/],
  ];
  for (const [line, problem] of refused) {
    it(`refuses ${line.slice(0, 50)}`, () => {
      const c = parseCommandLine(line, 'body');
      assert.ok(c, 'still a command: the sender is told why it was refused');
      assert.match(c.problem ?? '', /^refused: /);
      assert.match(c.problem ?? '', problem);
    });
  }
});

describe('email commands: header injection and control characters', () => {
  const attempts = [
    'subscribe victim@example.org\rBcc: everyone@example.org',
    'subscribe address=victim@example.org%0d%0aBcc:everyone@example.org',
    'subscribe "victim@example.org\r\nBcc: x@example.org"@evil.example',
    'subscribe victim@example.org\u0000\u001b[2J',
    'subscribe =?utf-8?q?victim=0d=0aBcc=3a_x?=@example.org',
  ];
  for (const line of attempts) {
    it(`never lets ${JSON.stringify(line).slice(0, 60)} through with a control character`, () => {
      const c = parseCommandLine(line, 'body');
      assert.ok(c);
      assert.doesNotMatch(c.line, CONTROL);
      assert.doesNotMatch(c.problem ?? '', CONTROL);
      if (!c.problem) {
        // The NUL/escape case: the junk after the address is cleaned to a blank and refused as an extra word, or absent.
        assert.doesNotMatch(c.address ?? '', /[\s\r\n:<>]/);
      }
    });
  }

  it('a CR inside a line splits nothing and is refused as an extra argument', () => {
    const c = parseCommandLine('subscribe victim@example.org\rBcc: everyone@example.org', 'body');
    assert.match(c?.problem ?? '', /"Bcc:" is not understood/);
  });

  it('echo text is cleaned and cut', () => {
    const c = parseCommandLine(`echo hello\u0007 there\u001b[31m ${'x'.repeat(500)}`, 'body');
    assert.equal(c?.name, 'echo');
    assert.doesNotMatch(c?.text ?? '', CONTROL);
    assert.ok((c?.text ?? '').length <= 200);
    assert.match(c?.text ?? '', /^hello +there +\[31m x+…$/);
  });
});

describe('email commands: confirm', () => {
  it('takes the token, lower-cased', () => assert.equal(parseCommandLine(`confirm ${TOKEN.toUpperCase()}`, 'body')?.token, TOKEN));
  it('takes a pasted -confirm+TOKEN address', () => assert.equal(parseCommandLine(`confirm dev-confirm+${TOKEN}@lists.example`, 'body')?.token, TOKEN));
  it('refuses no token', () => assert.match(parseCommandLine('confirm', 'body')?.problem ?? '', /needs the token/));
  it('a NUL after the token is cleaned away', () => assert.equal(parseCommandLine(`confirm ${TOKEN}\u0000`, 'body')?.token, TOKEN));
  for (const bad of ['abc', 'not-a-token!', `${TOKEN} extra`, 'a'.repeat(400), `${TOKEN}\u0000junk`]) {
    it(`refuses ${JSON.stringify(bad).slice(0, 40)}`, () => assert.match(parseCommandLine(`confirm ${bad}`, 'body')?.problem ?? '', /refused/));
  }
});

describe('email commands: hostile sizes', () => {
  it(`a 10,000-line message: at most ${MAX_LINES_SCANNED} lines looked at, in bounded time`, () => {
    const body = Array.from({ length: 10_000 }, () => '> quoted line that is skipped').join('\n') + '\nsubscribe\n';
    const started = performance.now();
    const scan = request('', body);
    const ms = performance.now() - started;
    assert.deepEqual(scan.commands, []);
    assert.equal(scan.stop?.reason, 'line-limit');
    assert.equal(scan.stop?.unread, 10_000 - MAX_LINES_SCANNED + 1);
    assert.ok(ms < 200, `took ${ms} ms`);
  });

  it(`10,000 commands: at most ${MAX_COMMANDS} run`, () => {
    const scan = request('', Array.from({ length: 10_000 }, () => 'help').join('\n'));
    assert.equal(scan.commands.length, MAX_COMMANDS);
    assert.equal(scan.stop?.reason, 'command-limit');
    assert.equal(scan.stop?.unread, 10_000 - MAX_COMMANDS);
  });

  it('one line of a megabyte is read as one cut line', () => {
    const scan = request('', `echo ${'y'.repeat(1024 * 1024)}`);
    assert.equal(scan.commands.length, 1);
    assert.ok((scan.commands[0]?.line.length ?? 0) <= 200);
  });
});

function mime(headers: string[], body: string): Buffer {
  return Buffer.from([...headers, '', body].join('\r\n'), 'latin1');
}

describe('email commands: the text they are read from', () => {
  it('the first text/plain part of a multipart message', () => {
    const raw = mime(
      ['From: a@example.org', 'Subject: x', 'MIME-Version: 1.0', 'Content-Type: multipart/alternative; boundary="b"'],
      ['--b', 'Content-Type: text/plain; charset=utf-8', '', 'who', 'end', '--b', 'Content-Type: text/html', '', '<p>help</p>', '--b--', ''].join('\r\n'),
    );
    assert.deepEqual(names(request('', commandBodyText(raw)).commands), ['who', 'end']);
  });

  it('HTML-only mail: its text', () => {
    const raw = mime(['From: a@example.org', 'Content-Type: text/html; charset=utf-8'], '<html><body><p>info</p><div>who</div><p>Thanks</p></body></html>');
    const scan = request('', commandBodyText(raw));
    assert.deepEqual(names(scan.commands), ['info', 'who']);
    assert.equal(scan.stop?.line, 'Thanks');
  });

  it('base64 in ISO-8859-1', () => {
    const body = Buffer.from('echo Grüße\r\nend\r\n', 'latin1').toString('base64');
    const raw = mime(['From: a@example.org', 'Content-Type: text/plain; charset=iso-8859-1', 'Content-Transfer-Encoding: base64'], body);
    const scan = request('', commandBodyText(raw));
    assert.equal(scan.commands[0]?.text, 'Grüße');
  });

  it('quoted-printable with a soft break', () => {
    const raw = mime(['From: a@example.org', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable'], 'ec=\r\nho hi=3D1\r\n');
    assert.equal(request('', commandBodyText(raw)).commands[0]?.text, 'hi=1');
  });

  it('an unknown charset and NUL bytes give text, not an exception', () => {
    const raw = Buffer.concat([
      Buffer.from('From: a@example.org\r\nContent-Type: text/plain; charset=x-no-such-charset\r\n\r\nhelp\u0000\r\n', 'latin1'),
      Buffer.from([0xff, 0xfe, 0x00, 0x80]),
      Buffer.from('\r\nwho\r\n'),
    ]);
    const scan = request('', commandBodyText(raw));
    assert.deepEqual(names(scan.commands), ['help']);
    assert.doesNotMatch(scan.stop?.line ?? '', CONTROL);
  });

  it('a message with no body, or only an attachment, has no body commands', () => {
    assert.equal(commandBodyText(Buffer.from('From: a@example.org\r\nSubject: help\r\n')), '');
    const raw = mime(
      ['From: a@example.org', 'Content-Type: multipart/mixed; boundary="b"'],
      ['--b', 'Content-Type: application/pdf', 'Content-Disposition: attachment', '', 'JVBERi0=', '--b--'].join('\r\n'),
    );
    assert.equal(commandBodyText(raw), '');
  });
});

describe('the reply to command mail', () => {
  it('quotes each command, then its result, and says where reading stopped', () => {
    const scan = request('Hello there', 'who\necho hi\nThanks, Bob\nsubscribe\n');
    const reply = commandReply({
      list: 'dev@lists.example',
      displayName: 'Dev',
      address: 'request',
      results: [
        { line: 'who', outcome: 'refused', lines: ['Refused: not for you.'] },
        { line: 'echo hi', outcome: 'done', lines: ['hi'] },
      ],
      scan,
    });
    assert.equal(reply.subject, 'The results of your email commands to dev@lists.example');
    assert.match(reply.text, /^> who\n {2}Refused: not for you\.\n\n> echo hi\n {2}hi\n/m);
    assert.match(reply.text, /Reading stopped at "Thanks, Bob", which is not a command; 1 more line was not read\./);
    assert.match(reply.text, /The subject "Hello there" is not a command and was ignored\./);
    assert.doesNotMatch(reply.text, /subscribe \[digest/, 'no full help when commands ran');
  });

  it('with no command: says so, names the unknown one, and gives the help', () => {
    const reply = commandReply({ list: 'dev@lists.example', displayName: 'Dev', address: 'request', results: [], scan: request('', 'subscirbe me\n') });
    assert.match(reply.text, /No command was found in your message\./);
    assert.match(reply.text, /> subscirbe me\n {2}Unknown command: reading stopped here\./);
    assert.match(reply.text, /subscribe \[digest\|nodigest\] \[address\]/);
    assert.match(reply.text, /dev-join@lists\.example/);
  });

  it('writes nothing the sender sent with a control character in it', () => {
    const scan = request('Re: \u001b[31mhi', 'echo a\u0000b\n\u0007bell line\n');
    const reply = commandReply({ list: 'dev@lists.example', displayName: 'Dev', address: 'request', results: [{ line: scan.commands[0]?.line ?? '', outcome: 'done', lines: [scan.commands[0]?.text ?? ''] }], scan });
    assert.doesNotMatch(reply.text, CONTROL);
    assert.doesNotMatch(reply.subject, CONTROL);
  });
});

describe('help, info and who texts', () => {
  it('help names every command and address', () => {
    const text = helpLines('dev@lists.example', 'Dev').join('\n');
    for (const word of ['subscribe', 'unsubscribe', 'confirm', 'info', 'who', 'help', 'echo', 'end', 'dev-request@lists.example', 'dev-join@lists.example', 'dev-leave@lists.example', 'dev-owner@lists.example']) {
      assert.ok(text.includes(word), word);
    }
  });

  it('info: description, addresses, policies; the member count only when given', () => {
    const settings = resolveSettings({ description: 'Talk about dev', subscription_policy: 'confirm_then_moderate' });
    const text = infoLines({ list: 'dev@lists.example', displayName: 'Dev', settings, memberCount: null }).join('\n');
    assert.match(text, /Talk about dev/);
    assert.match(text, /Joining: +the address confirms, then a moderator approves/);
    assert.doesNotMatch(text, /Members:/);
    assert.match(infoLines({ list: 'dev@lists.example', displayName: 'Dev', settings, memberCount: 42 }).join('\n'), /Members: +42/);
  });

  it(`who lists at most ${MAX_WHO} addresses and says how many more`, () => {
    const addresses = Array.from({ length: MAX_WHO }, (_, i) => `m${i}@example.org`);
    const lines = whoLines('dev@lists.example', addresses, 1234);
    assert.equal(lines[0], '1234 members of dev@lists.example:');
    assert.equal(lines.length, MAX_WHO + 2);
    assert.equal(lines.at(-1), `  … and ${1234 - MAX_WHO} more (at most ${MAX_WHO} are listed).`);
  });
});
