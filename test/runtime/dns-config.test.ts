// LISTFLOW_DNS_SERVERS: what it accepts, and a bad value stops listflow with one line and exit code 2.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, parseDnsServers } from '../../runtime/config.js';

const MAIN = fileURLToPath(new URL('../../runtime/main.js', import.meta.url));

describe('LISTFLOW_DNS_SERVERS', () => {
  it("defaults to the system's servers", () => {
    assert.equal(loadConfig({}).dnsServers, undefined);
    assert.equal(loadConfig({ LISTFLOW_DNS_SERVERS: ' ' }).dnsServers, undefined);
  });

  it('takes IP addresses with optional ports, as node sets them', () => {
    assert.deepEqual(parseDnsServers('127.0.0.1:5353, 9.9.9.9,::1,[2001:db8::53]:5300,[::1]'), [
      '127.0.0.1:5353',
      '9.9.9.9',
      '::1',
      '[2001:db8::53]:5300',
      '::1',
    ]);
  });

  for (const bad of ['ns1.example.net', '127.0.0.1:0', '127.0.0.1:70000', '10.0.0', '127.0.0.1,,9.9.9.9', '[::1]:x']) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      assert.throws(() => loadConfig({ LISTFLOW_DNS_SERVERS: bad }), (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /^LISTFLOW_DNS_SERVERS: ".*" is not an IP address with an optional port \(for example/);
        return true;
      });
    });
  }

  it('a bad value stops `npm start` with one line and exit code 2, before anything starts', () => {
    const r = spawnSync(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH, LISTFLOW_DNS_SERVERS: 'ns1.example.net' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'listflow: LISTFLOW_DNS_SERVERS: "ns1.example.net" is not an IP address with an optional port (for example 127.0.0.1, 127.0.0.1:5353 or [::1]:53)\n');
  });
});
