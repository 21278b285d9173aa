// The processes the bench started, so an interrupted run (Ctrl-C, SIGTERM) can stop each of them by its PID.
import type { ChildProcess } from 'node:child_process';

const running = new Set<ChildProcess>();

/** Remembers a child until it exits. */
export function track<T extends ChildProcess>(child: T): T {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** Sends SIGTERM to every child still running (each by its own PID) and waits up to `graceMs` for them. */
export async function stopAll(graceMs: number): Promise<void> {
  const children = [...running];
  const exits = children.map((c) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve()))));
  for (const c of children) c.kill('SIGTERM');
  const timer = setTimeout(() => children.forEach((c) => c.kill('SIGKILL')), graceMs);
  await Promise.all(exits);
  clearTimeout(timer);
}
