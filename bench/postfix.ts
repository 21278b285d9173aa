// Postfix's test programs: smtp-sink (the far end of a fan-out) and smtp-source (an ingest client), found and run.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { track } from './children.js';
import { freePort } from './services.js';

export const INSTALL_HINT = 'install Postfix (apt-get install postfix) for smtp-sink and smtp-source';

/** The path of a Postfix test program on PATH or in /usr/sbin, or undefined. */
export function findPostfixTool(name: 'smtp-sink' | 'smtp-source'): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/bin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

async function waitForListener(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Sink {
  url: string;
  /** Messages (transactions) smtp-sink has counted so far, from its -c counters. */
  messages(): number;
  stop(): Promise<void>;
}

/** Starts `smtp-sink -c` on a free loopback port; it accepts and discards everything. */
export async function startSink(binary: string): Promise<Sink> {
  const port = await freePort();
  // Run as root, smtp-sink insists on -u to drop privileges after it binds.
  const user = os.userInfo().uid === 0 ? ['-u', 'root'] : [];
  const child = track(spawn(binary, ['-c', ...user, '-m', '512', `127.0.0.1:${port}`, '1024'], { stdio: ['ignore', 'pipe', 'inherit'] }));
  // -c rewrites a counter line after every message; only the latest one matters, read when asked for.
  let tail = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    tail = chunk.length >= 200 ? chunk.slice(-200) : (tail + chunk).slice(-200);
  });
  const count = (): number => {
    const all = [...tail.matchAll(/mesg=(\d+)/g)];
    return Number(all[all.length - 1]?.[1] ?? 0);
  };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  try {
    await waitForListener(port, 10_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `smtp://127.0.0.1:${port}`, messages: count, stop };
}

export interface SourceRun {
  code: number | null;
  output: string;
  seconds: number;
}

/** Runs smtp-source to completion (killed after timeoutMs) and reports its exit and wall time. */
export async function runSource(binary: string, args: string[], timeoutMs: number): Promise<SourceRun> {
  const started = performance.now();
  const child = track(spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-2000)));
  child.stderr.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-2000)));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, output, seconds: (performance.now() - started) / 1000 };
}
