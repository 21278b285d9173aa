// Every 451 says why in the ingress's log: one line per event, naming the session and the client, never a body.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { createPool } from '../../store/db.js';
import { buildMessage, deliverExpectingFailure, startIngress } from '../helpers/ingress.js';
import { createList, useStack } from '../helpers/stack.js';
import { devServerAddress } from '../helpers/temporal.js';

describe('ingress log', () => {
  const env = useStack();

  it('logs why a workflow start failed with 451, and no part of the body', async () => {
    const list = await createList(env.stack.db);
    const connection = await Connection.connect({ address: devServerAddress() });
    const closedClient = new Client({ connection, namespace: 'default' });
    await connection.close();
    const lines: string[] = [];
    const broken = await startIngress(env.stack, { client: closedClient, log: (l) => lines.push(l) });
    const raw = await buildMessage({ from: 'bob@example.com', to: list, subject: 'log me', text: 'A secret body line.\n' });
    try {
      const err = await deliverExpectingFailure(broken.port, { from: 'bob@example.com', to: [list], raw });
      assert.equal(err.responseCode, 451);
    } finally {
      await broken.close();
    }
    const line = lines.find((l) => l.includes('451'));
    assert.ok(line, lines.join('\n'));
    assert.match(line, new RegExp(`^\\S+ \\[127\\.0\\.0\\.1\\]: 451 for <${list.replace(/\./g, '\\.')}>: the workflow post/\\S+ could not be started: .+`));
    assert.ok(!lines.some((l) => l.includes('secret')), 'no body in the log');
  });

  it('logs why the list directory could not be read when RCPT gets 451', async () => {
    const list = await createList(env.stack.db);
    const pool = createPool(env.stack.database.url, 2);
    await pool.end();
    const lines: string[] = [];
    const broken = await startIngress(env.stack, { db: pool, log: (l) => lines.push(l) });
    try {
      const raw = await buildMessage({ from: 'erin@example.com', to: list });
      const err = await deliverExpectingFailure(broken.port, { from: 'erin@example.com', to: [list], raw });
      assert.equal(err.responseCode, 451);
    } finally {
      await broken.close();
    }
    assert.ok(lines.some((l) => /451 at RCPT: the list directory could not be read: .*pool/i.test(l)), lines.join('\n'));
  });

  it('logs why a message could not be stored when DATA gets 451', async () => {
    const list = await createList(env.stack.db);
    const pool = createPool(env.stack.database.url, 2);
    const lines: string[] = [];
    const broken = await startIngress(env.stack, { db: pool, log: (l) => lines.push(l) });
    try {
      // The directory is read while the pool is up; then the store fails.
      const warm = await buildMessage({ from: 'dave@example.com', to: list, subject: 'warm' });
      await deliverExpectingFailure(broken.port, { from: 'dave@example.com', to: ['nobody@lists.example'], raw: warm });
      await env.stack.db.query('SELECT 1');
      await pool.end();
      const raw = await buildMessage({ from: 'dave@example.com', to: list });
      const err = await deliverExpectingFailure(broken.port, { from: 'dave@example.com', to: [list], raw });
      assert.equal(err.responseCode, 451);
    } finally {
      await broken.close();
    }
    assert.ok(lines.some((l) => /451 after DATA: the message could not be stored: .+/.test(l)), lines.join('\n'));
  });
});
