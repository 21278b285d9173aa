// listflow as `npm start` runs it, on embedded defaults (its own Temporal dev server, PostgreSQL and outbox),
// in a process group of its own so a test can kill -9 all of it at once, embedded servers included.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../runtime/ports.js';
import { runCli, type CliResult } from '../cli/run-cli.js';

const MAIN = fileURLToPath(new URL('../../runtime/main.js', import.meta.url));

export interface ListflowEnv {
  [name: string]: string | undefined;
}

/** The environment of one embedded site: a data dir and free loopback ports, fixed across restarts. */
export async function embeddedSite(dataDir: string, extra: ListflowEnv = {}): Promise<ListflowEnv> {
  return {
    LISTFLOW_DATA_DIR: dataDir,
    LISTFLOW_SMTP_LISTEN: `127.0.0.1:${await freePort()}`,
    LISTFLOW_POSTGRES_LISTEN: `127.0.0.1:${await freePort()}`,
    LISTFLOW_TEMPORAL_DEV_LISTEN: `127.0.0.1:${await freePort()}`,
    LISTFLOW_TEMPORAL_UI_PORT: String(await freePort()),
    LISTFLOW_OUTBOX_LISTEN: `127.0.0.1:${await freePort()}`,
    LISTFLOW_HTTP_LISTEN: `127.0.0.1:${await freePort()}`,
    ...extra,
  };
}

export interface ListflowProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  smtpPort: number;
  /** kill -9 of the whole process group: listflow, the Temporal dev server, PostgreSQL. */
  killAll(): Promise<void>;
  /** SIGTERM, and the exit code. */
  stop(): Promise<number | null>;
}

export async function waitForText(output: () => string, pattern: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(output())) {
    if (Date.now() > deadline) throw new Error(`did not see ${pattern} within ${timeoutMs} ms; output:\n${output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts listflow and resolves once it says it is running. */
export async function startListflow(env: ListflowEnv, timeoutMs = 120_000): Promise<ListflowProcess> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DATABASE_URL|TEMPORAL_|LISTFLOW_|npm_)/.test(k)));
  const child = spawn(process.execPath, [MAIN], { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text = (text + d.toString()).slice(-200_000)));
  child.stderr?.on('data', (d: Buffer) => (text = (text + d.toString()).slice(-200_000)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const groupAlive = () => {
    try {
      process.kill(-(child.pid as number), 0);
      return true;
    } catch {
      return false;
    }
  };
  const p: ListflowProcess = {
    child,
    output: () => text,
    exited,
    smtpPort: Number((env.LISTFLOW_SMTP_LISTEN ?? '').split(':').pop()),
    async killAll() {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
      const deadline = Date.now() + 10_000;
      while (groupAlive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    },
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
  try {
    await Promise.race([
      waitForText(p.output, /listflow is running/, timeoutMs),
      exited.then((code) => {
        throw new Error(`listflow exited (${code}) while starting:\n${text.slice(-4000)}`);
      }),
    ]);
  } catch (err) {
    await p.killAll();
    throw err;
  }
  return p;
}

/** `listflow <args>` against the site; fails the test on a non-zero exit. */
export async function listflowCli(env: ListflowEnv, args: string[], input?: string): Promise<CliResult> {
  const r = await runCli(env, args, input);
  if (r.code !== 0) throw new Error(`listflow ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r;
}

export interface OutboxCopy {
  to: string[];
  eml: string;
}

/** Every transaction the embedded outbox accepted (its `.json` envelope beside the `.eml`). */
export function readOutbox(dataDir: string, withBody = false): OutboxCopy[] {
  const root = path.join(dataDir, 'outbox');
  if (!existsSync(root)) return [];
  const out: OutboxCopy[] = [];
  for (const day of readdirSync(root)) {
    for (const name of readdirSync(path.join(root, day))) {
      if (!name.endsWith('.json')) continue;
      const base = path.join(root, day, name.slice(0, -'.json'.length));
      const envelope = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as { to: string[] };
      out.push({ to: envelope.to, eml: withBody ? readFileSync(`${base}.eml`, 'utf8') : '' });
    }
  }
  return out;
}
