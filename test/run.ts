// `npm test`: starts one Temporal dev server for every test file, then runs node's test runner over dist/test.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { prepareNamespace, startDevServer } from '../runtime/temporal.js';
import { resolveBinary, TEMPORAL_TEST_SERVER } from '../runtime/temporal-binary.js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { freePort } from '../runtime/ports.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** One test file's limit: the slowest file takes about a minute on a loaded two-core machine. */
const FILE_TIMEOUT_MS = 300_000;
/** The whole suite's limit (it takes 3 to 12 minutes). */
const SUITE_TIMEOUT_MS = 40 * 60_000;

function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...testFiles(full));
    else if (name.endsWith('.test.js')) out.push(full);
  }
  return out;
}


async function main(): Promise<number> {
  const log = (line: string) => console.log(`# ${line}`);
  const filter = process.argv.slice(2);
  const files = testFiles(here).filter((f) => filter.length === 0 || filter.some((p) => f.includes(p)));
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'listflow-test-temporal-'));
  const dev = await startDevServer(
    { dataDir, namespace: 'default', temporalUiPort: await freePort(), temporalDevListen: { host: '127.0.0.1', port: await freePort() } },
    log,
  );
  try {
    const connection = await Connection.connect({ address: dev.address });
    await prepareNamespace(connection, 'default');
    await connection.close();
    const testServer = resolveBinary(TEMPORAL_TEST_SERVER, log);
    const env = {
      ...process.env,
      LISTFLOW_TEST_TEMPORAL_ADDRESS: dev.address,
      ...(testServer.kind === 'path' ? { LISTFLOW_TEST_TIME_SKIPPING_SERVER: testServer.path } : {}),
    };
    log(`Temporal dev server on ${dev.address}; ${files.length} test files`);
    // The runner and every test file run in a process group of their own, so whatever a file leaves
    // behind (a worker that will not stop, a test server it spawned) is ended with the group, and an
    // overrun of the whole suite fails it instead of stalling the caller.
    const child = spawn(process.execPath, ['--test', '--test-concurrency=2', `--test-timeout=${FILE_TIMEOUT_MS}`, ...files], {
      stdio: 'inherit',
      env,
      detached: true,
    });
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is already gone
      }
    };
    process.once('exit', killGroup);
    const overrun = setTimeout(() => {
      log(`the test suite overran ${SUITE_TIMEOUT_MS / 60_000} minutes; ending it`);
      killGroup();
    }, SUITE_TIMEOUT_MS);
    const code = await new Promise<number>((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
    clearTimeout(overrun);
    killGroup();
    return code;
  } finally {
    await dev.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  },
);
