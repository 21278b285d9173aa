// Operator patterns on RE2: hostile patterns and hostile headers finish in linear time, what RE2 cannot run
// is refused when set with a one-line reason, a stored pattern that no longer compiles holds the post with
// the reason, case-insensitivity is what it was, and each pattern is compiled once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runChain } from '../../mail/chain.js';
import { prefixedSubject } from '../../mail/decoration/handlers/subject-prefix.js';
import { parseHeaderRule } from '../../mail/header-rules.js';
import { parseAddressPattern, PatternError } from '../../mail/patterns.js';
import { cachedRegexCount, compileRegex } from '../../mail/regex.js';
import { bannedAddress } from '../../mail/rules/banned-address.js';
import { headerMatch } from '../../mail/rules/header-match.js';
import { parseAssignment, parseAssignments, resolveSettings, SettingError } from '../../mail/settings.js';
import { defaultSiteSettings, parseSiteAssignments, resolveSiteSettings } from '../../mail/site-settings.js';
import { inputFor, LIST, type InputOptions } from '../helpers/rule-input.js';

function message(from: string, subject: string, extra = ''): Buffer {
  return Buffer.from(`From: ${from}\r\nTo: ${LIST}\r\nSubject: ${subject}\r\nMessage-ID: <re2@example.com>\r\n${extra}\r\nHello.\r\n`);
}

/** Milliseconds `f` took, and its result. */
function timed<T>(f: () => T): { ms: number; value: T } {
  const started = performance.now();
  const value = f();
  return { ms: performance.now() - started, value };
}

describe('operator patterns run in linear time', () => {
  // With JavaScript's RegExp (a backtracking engine) this test would hang: it tries every way to split the
  // x's (or a's) before giving up, and each one more doubles the time (measured on Node 20 here: 24 of them
  // 0.2 s, so 40 about four hours). On RE2 each pattern is one pass over the input.
  it('a header_matches row (x+x+)+y and a ban ^(a+)+$ against hostile input finish within 50 ms', () => {
    const raw = message(`${'a'.repeat(40)}!@example.com`, 'x'.repeat(40));
    const input = inputFor(raw, {
      member: 'default',
      settings: { header_matches: ['Subject: (x+x+)+y -> discard'] },
      bans: { list: ['^(a+)+$'], site: ['^(a|a)+$'] },
    });
    const header = timed(() => headerMatch.check(input));
    assert.equal(header.value.hit, false, header.value.reason);
    assert.ok(header.ms < 50, `header_matches took ${header.ms.toFixed(1)} ms`);
    const ban = timed(() => bannedAddress.check(input));
    assert.equal(ban.value.hit, false, ban.value.reason);
    assert.ok(ban.ms < 50, `the bans took ${ban.ms.toFixed(1)} ms`);
  });

  it('the same patterns still match what they should', () => {
    const raw = message('aaaa@example.com', 'xxxxy');
    const input = inputFor(raw, { member: 'default', settings: { header_matches: ['Subject: (x+x+)+y -> discard'] }, bans: { list: ['^(a+)+@example\\.com$'] } });
    assert.equal(headerMatch.check(input).action, 'discard');
    assert.equal(bannedAddress.check(input).hit, true);
  });

  it('a long hostile header against every kind of pattern stays linear (100 KB in well under a second)', () => {
    const long = `${'x'.repeat(100_000)}`;
    const rule = parseHeaderRule('Subject: (x+x+)+y');
    const { ms, value } = timed(() => rule.test(long));
    assert.equal(value, false);
    assert.ok(ms < 500, `${ms.toFixed(1)} ms`);
  });

  it('the subject prefix (built from a setting) strips old prefixes in linear time from a subject of 100,000 spaces', () => {
    // JavaScript's RegExp took 17 s on this subject (\s*[dev]\s* backtracks over every run of spaces).
    const { ms, value } = timed(() => prefixedSubject(`${' '.repeat(100_000)}x`, '[dev] ', 1, 'dev', LIST));
    assert.equal(value, '[dev] x');
    assert.ok(ms < 500, `${ms.toFixed(1)} ms`);
    assert.equal(prefixedSubject('Re: [DEV] Re: [dev]  hello', '[dev] ', 2, 'dev', LIST), '[dev] Re: hello');
    assert.equal(prefixedSubject('Re: [dev 41] a.b', '[dev %d] ', 42, 'dev', LIST), '[dev 42] Re: a.b');
  });
});

describe('what RE2 cannot run is refused when set, with one line naming the pattern and why', () => {
  const refused: [string, RegExp][] = [
    ['header_matches+=Subject: (a)\\1 -> hold', /^header_matches\+=Subject: \(a\)\\1 -> hold: "\(a\)\\1" is not a valid regular expression: backreferences \(\\1\) are not supported: patterns are RE2 syntax, matched in linear time$/],
    ['bounce_matching_headers+=X-Mailer: (?=bulk)', /^bounce_matching_headers\+=X-Mailer: \(\?=bulk\): "\(\?=bulk\)" is not a valid regular expression: lookahead \(\(\?=…\) is not supported/],
    ['hold_these_nonmembers+=^(?!ok).*@x\\.example$', /"\^\(\?!ok\)\.\*@x\\\.example\$" is not a valid regular expression: lookahead \(\(\?!…\) is not supported/],
    ['acceptable_aliases+=^.*(?<!x)@lists\\.example$', /lookbehind \(\(\?<!…\) is not supported/],
    ['reject_these_nonmembers+=^(?<n>a)\\k<n>@x$', /backreferences \(\\k<name>\) are not supported/],
    ['discard_these_nonmembers+=^\\u00e9@x$', /write a code point as \\x\{00e9\}, not \\u00e9/],
    ['header_matches+=Subject: x{1,5000}', /invalid repeat count \{1,5000\} \(at most 1000\)/],
    ['header_matches+=Subject: a++', /possessive or doubled repetition \(\+\+\) is not supported/],
  ];
  for (const [assignment, message] of refused) {
    it(`refuses ${assignment}`, () => {
      assert.throws(
        () => parseAssignment(assignment),
        (err: Error) => err instanceof SettingError && !/[\r\n]/.test(err.message) && message.test(err.message),
      );
    });
  }

  it('refuses it in site settings and --from filters too', () => {
    const site = parseSiteAssignments(['header_matches+=Subject: (a)\\1 -> hold'], defaultSiteSettings());
    assert.deepEqual(site.problems, ['header_matches+=Subject: (a)\\1 -> hold: "(a)\\1" is not a valid regular expression: backreferences (\\1) are not supported: patterns are RE2 syntax, matched in linear time']);
    assert.throws(() => parseAddressPattern('^(.)\\1@x$'), (err: Error) => err instanceof PatternError && /backreferences \(\\1\)/.test(err.message));
    assert.throws(() => compileRegex('(?<=a)b'), PatternError);
  });
});

describe('case-insensitivity is what it was', () => {
  it('header rules and ^regex address patterns ignore case, also beyond ASCII; exact addresses ignore case', () => {
    const spam = parseHeaderRule('X-Spam-Flag: ^\\s*yes\\b -> hold');
    assert.equal(spam.test('  YES, 7.1'), true);
    assert.equal(spam.test('no'), false);
    assert.equal(parseAddressPattern('^.*@SPAM\\.example$').test('Bob@spam.EXAMPLE'), true);
    assert.equal(parseAddressPattern('^josé@x\\.example$').test('JOSÉ@X.EXAMPLE'), true);
    assert.equal(parseAddressPattern('Bob@Example.com').test('bob@example.COM'), true);
    // Searched anywhere in a header value, anchored only where the operator anchors.
    assert.equal(parseHeaderRule('Subject: viagra').test('Cheap VIAGRA now'), true);
    assert.equal(parseHeaderRule('Subject: ^viagra$').test('Cheap VIAGRA now'), false);
  });
});

describe('compiled once, in a bounded cache', () => {
  it('compiles a source and flags once, and keeps them apart by flags', () => {
    const n = Date.now();
    const source = `^cache-${n}@x\\.example$`;
    const before = cachedRegexCount();
    for (let i = 0; i < 100; i++) compileRegex(source, { ignoreCase: true });
    assert.equal(cachedRegexCount(), before + 1);
    compileRegex(source);
    assert.equal(cachedRegexCount(), before + 2, 'without ignoreCase it is another entry');
    assert.equal(compileRegex(source, { ignoreCase: true }).test(`CACHE-${n}@X.example`), true);
    assert.equal(compileRegex(source).test(`CACHE-${n}@X.example`), false);
  });

  it('caches a refusal too, and never keeps more than its bound', () => {
    const bad = `(a)\\1-${Date.now()}`;
    assert.throws(() => compileRegex(bad), PatternError);
    const count = cachedRegexCount();
    assert.throws(() => compileRegex(bad), PatternError);
    assert.equal(cachedRegexCount(), count);
    for (let i = 0; i < 5200; i++) compileRegex(`bound-${i}`);
    assert.ok(cachedRegexCount() <= 5000, String(cachedRegexCount()));
  });
});

describe('a stored pattern that no longer compiles', () => {
  // As a row written before listflow used RE2 comes back from the database: loading keeps it.
  const stored = (settings: Record<string, unknown>) => resolveSettings(settings);
  const verdict = (raw: Buffer, o: InputOptions) => runChain(inputFor(raw, o));
  const member = message('alice@example.com', 'hello (a)(a)');

  it('is kept when settings are loaded, shown as it was, and can be removed by its text', () => {
    const s = stored({ header_matches: ['Subject: (a)\\1 -> discard', 'X-Spam: yes -> hold'] });
    assert.deepEqual(s.header_matches, ['Subject: (a)\\1 -> discard', 'X-Spam: yes -> hold']);
    const { changes, problems } = parseAssignments(['header_matches-=Subject: (a)\\1 -> discard'], s);
    assert.deepEqual(problems, []);
    assert.deepEqual(changes.header_matches, ['X-Spam: yes -> hold']);
    assert.throws(() => parseAssignment('header_matches+=Subject: (a)\\1 -> discard'), SettingError, 'but it cannot be added again');
    assert.deepEqual(resolveSiteSettings({ header_matches: JSON.stringify(['Subject: (?=x) -> hold']) }).header_matches, ['Subject: (?=x) -> hold']);
  });

  it('in header_matches holds a post whose header it would test, with the reason, instead of crashing or being skipped', () => {
    const v = verdict(member, { member: 'default', settings: stored({ header_matches: ['Subject: (a)\\1 -> discard'] }) });
    assert.equal(v.action, 'hold');
    const hit = v.hits.find((h) => h.rule === 'header-match');
    assert.match(hit?.reason ?? '', /^the rule failed: the stored rule "Subject: \(a\)\\1 -> discard" cannot be used: "\(a\)\\1" is not a valid regular expression: backreferences/);
    assert.equal(hit?.action, 'defer');
  });

  it('in header_matches decides nothing for a post without that header, and a usable row before it still decides', () => {
    const absent = verdict(member, { member: 'default', settings: stored({ header_matches: ['X-Campaign: (?=x) -> discard'] }) });
    assert.equal(absent.action, 'accept', absent.summary);
    const first = verdict(member, { member: 'default', settings: stored({ header_matches: ['Subject: hello -> reject', 'Subject: (a)\\1 -> discard'] }) });
    assert.equal(first.action, 'reject', first.summary);
  });

  it('in the site header_matches and in bounce_matching_headers holds the post with the reason', () => {
    const site = verdict(member, { member: 'default', site: { header_matches: ['Subject: (?<!x)hello -> discard'] } });
    assert.equal(site.action, 'hold');
    assert.match(site.summary, /the stored rule "Subject: \(\?<!x\)hello -> discard" cannot be used: .*lookbehind/);
    const suspicious = verdict(member, { member: 'default', settings: stored({ bounce_matching_headers: ['Subject: (a)\\1'] }) });
    assert.equal(suspicious.action, 'hold');
    assert.match(suspicious.hits.map((h) => `${h.rule}: ${h.reason}`).join('\n'), /^suspicious-header: the rule failed: the stored rule "Subject: \(a\)\\1" cannot be used/m);
  });

  it('as a ban holds the post with the reason rather than letting the sender through; a usable ban that matches still discards', () => {
    const held = verdict(member, { member: 'default', bans: { site: ['^(.)\\1.*$'] } });
    assert.equal(held.action, 'hold');
    assert.match(held.summary, /the stored pattern "\^\(\.\)\\1\.\*\$" is not a valid regular expression: backreferences/);
    const banned = verdict(member, { member: 'default', bans: { list: ['^(?!x).*$'], site: ['alice@example.com'] } });
    assert.equal(banned.action, 'discard', banned.summary);
    assert.match(banned.summary, /alice@example\.com is banned site-wide \(alice@example\.com\)/);
  });

  it('in a nonmember list or acceptable_aliases holds the post with the reason', () => {
    const nonmember = verdict(message('stranger@elsewhere.example', 'hi'), { settings: stored({ nonmember_action: 'accept', accept_these_nonmembers: ['^(?=s).*@elsewhere\\.example$'] }) });
    assert.equal(nonmember.action, 'hold', nonmember.summary);
    assert.match(nonmember.summary, /the stored pattern "\^\(\?=s\)\.\*@elsewhere\\\.example\$" is not a valid regular expression: lookahead/);
    const bcc = Buffer.from(`From: alice@example.com\r\nTo: other@lists.example.org\r\nSubject: hi\r\nMessage-ID: <bcc@example.com>\r\n\r\nHello.\r\n`);
    const alias = verdict(bcc, { member: 'default', settings: stored({ acceptable_aliases: ['^(o)\\1ther@lists\\.example\\.org$'] }) });
    assert.equal(alias.action, 'hold');
    assert.match(alias.hits.find((h) => h.rule === 'implicit-dest')?.reason ?? '', /^the rule failed: the stored pattern "\^\(o\)\\1ther@lists\\\.example\\\.org\$" is not a valid regular expression/);
  });
});
