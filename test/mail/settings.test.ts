// List settings given as key=value: validated, with one-line errors naming what is wrong.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultSettings, parseAssignment, resolveSettings, SettingError } from '../../mail/settings.js';
import { ConfigError, loadConfig } from '../../runtime/config.js';

describe('parseAssignment', () => {
  it('parses known keys by type', () => {
    assert.deepEqual(parseAssignment('max_hold_days=3'), { max_hold_days: 3 });
    assert.deepEqual(parseAssignment('nonmember_action=reject'), { nonmember_action: 'reject' });
    assert.deepEqual(parseAssignment('notify_held_sender=no'), { notify_held_sender: false });
    assert.deepEqual(parseAssignment('description=Talk about = signs'), { description: 'Talk about = signs' });
  });
  const bad: [string, RegExp][] = [
    ['colour=blue', /unknown setting "colour"/],
    ['max_hold_days=0', /max_hold_days=0: must be a whole number from 1 to 365/],
    ['max_hold_days=2.5', /whole number/],
    ['nonmember_action=maybe', /must be one of accept, hold, reject, discard/],
    ['delivery_mode=fast', /bulk, per-recipient/],
    ['notify_held_sender=perhaps', /true or false/],
    ['description=two\nlines', /one line/],
    ['no-equals-sign', /not key=value/],
  ];
  for (const [text, message] of bad) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseAssignment(text), (err: Error) => err instanceof SettingError && message.test(err.message));
    });
  }
});

describe('resolveSettings', () => {
  it('falls back to the default for a stored value that no longer validates', () => {
    const s = resolveSettings({ max_hold_days: 'forever', bulk_max_recipients: 100 });
    assert.equal(s.max_hold_days, defaultSettings().max_hold_days);
    assert.equal(s.bulk_max_recipients, 100);
  });
});

describe('loadConfig', () => {
  it('has embedded defaults', () => {
    const c = loadConfig({});
    assert.equal(c.databaseUrl, undefined);
    assert.equal(c.temporalAddress, undefined);
    assert.deepEqual(c.smtpListen, { host: '127.0.0.1', port: 2525 });
    assert.deepEqual(c.roles, ['ingress', 'core', 'delivery', 'web']);
  });
  for (const [env, message] of [
    [{ LISTFLOW_SMTP_LISTEN: '2525' }, /LISTFLOW_SMTP_LISTEN=2525 is not host:port/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL=mysql:\/\/x must start with postgres:/],
    [{ LISTFLOW_ROLES: 'core,mx' }, /unknown role "mx"/],
    [{ LISTFLOW_SMARTHOST: 'mail.example.org:25' }, /LISTFLOW_SMARTHOST/],
  ] as const) {
    it(`refuses ${JSON.stringify(env)}`, () => {
      assert.throws(() => loadConfig(env), (err: Error) => err instanceof ConfigError && message.test(err.message));
    });
  }
  it('reads IPv6 listen addresses', () => {
    assert.deepEqual(loadConfig({ LISTFLOW_SMTP_LISTEN: '[::1]:25' }).smtpListen, { host: '::1', port: 25 });
  });
});
