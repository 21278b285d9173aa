// SIGTERM ends listflow within its stated bound even when its database hangs (here: the embedded PostgreSQL
// frozen with SIGSTOP), and leaves no child process behind.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { alive, childrenOf } from '../../runtime/processes.js';
import { embeddedSite, startListflow, type ListflowProcess } from '../helpers/listflow-process.js';

const BOUND_S = 8;

describe('stopping listflow', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'listflow-stop-'));
  let listflow: ListflowProcess | undefined;
  after(async () => {
    await listflow?.killAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`ends within LISTFLOW_STOP_TIMEOUT_SECONDS when the database hangs, leaving no child`, async () => {
    listflow = await startListflow(await embeddedSite(dataDir, { LISTFLOW_STOP_TIMEOUT_SECONDS: String(BOUND_S) }));
    const kids = childrenOf(listflow.child.pid as number);
    const postgres = kids.find((k) => k.comm === 'postgres');
    assert.ok(postgres, `the embedded PostgreSQL is a child of listflow (children: ${kids.map((k) => k.comm).join(', ')})`);
    process.kill(postgres.pid, 'SIGSTOP');

    const started = Date.now();
    listflow.child.kill('SIGTERM');
    const code = await listflow.exited;
    const took = Date.now() - started;
    assert.ok(took < (BOUND_S + 5) * 1000, `stopped in ${took} ms`);
    assert.match(listflow.output(), /SIGTERM: stopping/);
    if (code !== 0) assert.match(listflow.output(), new RegExp(`not stopped within ${BOUND_S}s`));
    const deadline = Date.now() + 5000;
    while (kids.some((k) => alive(k.pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const k of kids) assert.equal(alive(k.pid), false, `child ${k.comm} (${k.pid}) is gone`);
    listflow = undefined;
  });
});
