// The ingress's limits and certificate come from LISTFLOW_INGRESS_* and LISTFLOW_TLS_*: defaults for a public MX,
// and one clear line for a bad value.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { DEFAULT_INGRESS_LIMITS } from '../../ingress/limits.js';
import { ConfigError, loadConfig } from '../../runtime/config.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'listflow-ingress-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function refused(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.ok(!err.message.includes('\n'), 'one line');
    return err.message;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe('ingress configuration', () => {
  it('defaults as a public MX would: 100 connections, 10 per IP, 5 min idle, 30 min session, 100 RCPTs, 20 unknown', () => {
    const config = loadConfig({});
    assert.deepEqual(config.ingressLimits, DEFAULT_INGRESS_LIMITS);
    assert.deepEqual(config.ingressLimits, {
      maxConnections: 100,
      maxConnectionsPerIp: 10,
      idleTimeoutMs: 300_000,
      sessionTimeoutMs: 1_800_000,
      minDataRate: 500,
      maxCommands: 1000,
      maxRecipients: 100,
      maxUnknownRecipients: 20,
    });
    assert.equal(config.ingressTls, 'self-signed');
  });

  it('reads every limit from its variable, durations in seconds', () => {
    const config = loadConfig({
      LISTFLOW_INGRESS_MAX_CONNECTIONS: '50',
      LISTFLOW_INGRESS_MAX_CONNECTIONS_PER_IP: '5',
      LISTFLOW_INGRESS_IDLE_SECONDS: '60',
      LISTFLOW_INGRESS_SESSION_SECONDS: '600',
      LISTFLOW_INGRESS_MIN_DATA_RATE: '1000',
      LISTFLOW_INGRESS_MAX_COMMANDS: '200',
      LISTFLOW_INGRESS_MAX_RECIPIENTS: '1000',
      LISTFLOW_INGRESS_MAX_UNKNOWN_RECIPIENTS: '3',
    });
    assert.deepEqual(config.ingressLimits, {
      maxConnections: 50,
      maxConnectionsPerIp: 5,
      idleTimeoutMs: 60_000,
      sessionTimeoutMs: 600_000,
      minDataRate: 1000,
      maxCommands: 200,
      maxRecipients: 1000,
      maxUnknownRecipients: 3,
    });
  });

  it('refuses bad values with one clear line', () => {
    assert.equal(refused({ LISTFLOW_INGRESS_MAX_CONNECTIONS: 'lots' }), 'LISTFLOW_INGRESS_MAX_CONNECTIONS=lots must be a positive whole number');
    assert.equal(refused({ LISTFLOW_INGRESS_IDLE_SECONDS: '0' }), 'LISTFLOW_INGRESS_IDLE_SECONDS=0 must be a positive whole number');
    assert.equal(refused({ LISTFLOW_INGRESS_MAX_RECIPIENTS: '1.5' }), 'LISTFLOW_INGRESS_MAX_RECIPIENTS=1.5 must be a positive whole number');
    assert.match(refused({ LISTFLOW_INGRESS_MAX_CONNECTIONS_PER_IP: '200' }), /PER_IP=200 is more than LISTFLOW_INGRESS_MAX_CONNECTIONS=100/);
    assert.match(refused({ LISTFLOW_INGRESS_SESSION_SECONDS: '60' }), /SESSION_SECONDS=60 is shorter than LISTFLOW_INGRESS_IDLE_SECONDS=300/);
  });

  it('takes a certificate as two files, both or neither, or none at all', () => {
    const cert = path.join(dir, 'mx.crt');
    const key = path.join(dir, 'mx.key');
    writeFileSync(cert, 'cert');
    writeFileSync(key, 'key');
    assert.deepEqual(loadConfig({ LISTFLOW_TLS_CERT: cert, LISTFLOW_TLS_KEY: key }).ingressTls, { cert, key });
    assert.equal(loadConfig({ LISTFLOW_TLS_CERT: 'none' }).ingressTls, 'none');
    assert.match(refused({ LISTFLOW_TLS_CERT: cert }), /LISTFLOW_TLS_CERT and LISTFLOW_TLS_KEY go together/);
    assert.match(refused({ LISTFLOW_TLS_KEY: key }), /go together/);
    assert.equal(refused({ LISTFLOW_TLS_CERT: cert, LISTFLOW_TLS_KEY: path.join(dir, 'missing.key') }), `LISTFLOW_TLS_KEY=${path.join(dir, 'missing.key')}: no such file`);
  });
});
