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
    const child = spawn(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=600000', ...files], { stdio: 'inherit', env });
    return await new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
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
