// `npm start` as an operator sees it: everything embedded comes up, a second start is refused clearly,
// and SIGTERM stops everything with no child process left behind.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { post } from '../helpers/stack.js';
import { freePort } from '../../runtime/ports.js';
import { alive, childrenOf } from '../../runtime/processes.js';

const MAIN = fileURLToPath(new URL('../../runtime/main.js', import.meta.url));


/** `viaShell`: as `npm start` runs it, under `sh -c` (which stays, as npm's does, because more follows). */
function run(env: NodeJS.ProcessEnv, viaShell = false): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = viaShell
    ? spawn('sh', ['-c', `"${process.execPath}" "${MAIN}"; true`], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => text, exited };
}

async function waitForText(output: () => string, pattern: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(output())) {
    if (Date.now() > deadline) throw new Error(`did not see ${pattern} within ${timeoutMs} ms; output:\n${output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function embeddedEnv(dataDir: string, smtpPort: number): Promise<NodeJS.ProcessEnv> {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LISTFLOW_DATA_DIR: dataDir,
    LISTFLOW_SMTP_LISTEN: `127.0.0.1:${smtpPort}`,
    LISTFLOW_POSTGRES_LISTEN: `127.0.0.1:${await freePort()}`,
    LISTFLOW_TEMPORAL_DEV_LISTEN: `127.0.0.1:${await freePort()}`,
    LISTFLOW_TEMPORAL_UI_PORT: String(await freePort()),
    LISTFLOW_OUTBOX_LISTEN: `127.0.0.1:${await freePort()}`,
    LISTFLOW_HTTP_LISTEN: `127.0.0.1:${await freePort()}`,
  };
}

describe('npm start on embedded defaults', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'listflow-start-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('runs, refuses a second start on the same data, accepts mail, and stops cleanly on SIGTERM', async () => {
    const smtpPort = await freePort();
    const env = await embeddedEnv(dataDir, smtpPort);
    const first = run(env);
    await waitForText(first.output, /listflow is running/, 120_000);
    assert.match(first.output(), new RegExp(`SMTP ingress\\s+127\\.0\\.0\\.1:${smtpPort}`));
    const devServer = childrenOf(first.child.pid as number).map((c) => c.pid);
    assert.equal(devServer.length, 2, 'the Temporal dev server and PostgreSQL run as the child processes');

    const second = run(env);
    assert.equal(await second.exited, 1);
    assert.match(second.output(), /listflow is already running with the data dir/);

    // No list exists yet: ingress refuses the recipient, which shows it is answering.
    await assert.rejects(post(smtpPort, { from: 'a@example.com', to: 'nolist@example.org' }), /550 5\.1\.1/);

    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0);
    assert.match(first.output(), /stopped/);
    for (const pid of devServer) assert.equal(alive(pid), false, `child ${pid} is gone`);
  });

  it('under npm, stops cleanly when npm goes away (a SIGTERM to npm reaches neither its shell nor us)', async () => {
    const env = { ...(await embeddedEnv(dataDir, await freePort())), npm_lifecycle_event: 'start' };
    const shell = run(env, true);
    await waitForText(shell.output, /listflow is running/, 120_000);
    const [listflow] = childrenOf(shell.child.pid as number).map((c) => c.pid);
    assert.ok(listflow, 'listflow runs under the shell');
    const devServer = childrenOf(listflow).map((c) => c.pid);
    assert.equal(devServer.length, 2, 'the Temporal dev server and PostgreSQL');
    shell.child.kill('SIGKILL');
    await waitForText(shell.output, /npm went away: stopping/, 10_000);
    await waitForText(shell.output, /listflow: stopped/, 60_000);
    const deadline = Date.now() + 10_000;
    while (alive(listflow) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(alive(listflow), false, 'listflow is gone');
    for (const pid of devServer) assert.equal(alive(pid), false, `its child ${pid} is gone`);
  });
});
