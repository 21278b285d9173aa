// Runs the built `listflow` command as a user would, in a child process, and captures what it says.
import { execFile } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface CliEnv {
  DATABASE_URL?: string;
  TEMPORAL_ADDRESS?: string;
  [name: string]: string | undefined;
}

/** `listflow <args>` with only the given listflow variables set (nothing leaks in from the test's own environment). */
export function runCli(env: CliEnv, args: string[], input?: string): Promise<CliResult> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DATABASE_URL|TEMPORAL_|LISTFLOW_)/.test(k)));
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...clean, ...env }, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        if (code === null) return reject(new Error(`listflow ${args.join(' ')} did not exit normally: ${err?.message}\n${stderr}`));
        resolve({ code, stdout, stderr, ms: Date.now() - started });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

/** A loopback port nothing listens on (found by listening on port 0 and closing again). */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
