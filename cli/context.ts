// What every command is given: the config, output streams, and connections opened only when first asked for.
import os from 'node:os';
import type { Config } from '../runtime/config.js';
import type { Db } from '../store/db.js';
import { openCliDatabase } from './database.js';
import type { TemporalSession } from './temporal.js';

export interface Context {
  config: Config;
  /** Writes text to stdout as given. */
  out(text: string): void;
  /** Writes one line to stderr, prefixed with "listflow: ". */
  warn(line: string): void;
  /** The database; opened (and migrated, as the server does) on first use. */
  db(): Promise<Db>;
  /** The Temporal client; connected on first use, so database-only commands never touch Temporal. */
  temporal(): Promise<TemporalSession>;
  /** Who is acting, recorded with moderation decisions: cli:<os user>. */
  actor: string;
  close(): Promise<void>;
}

function osUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER || process.env.LOGNAME || 'unknown';
  }
}

export function createContext(config: Config): Context {
  let db: Promise<Db> | undefined;
  let temporal: Promise<TemporalSession> | undefined;
  return {
    config,
    out: (text) => void process.stdout.write(text),
    warn: (line) => void process.stderr.write(`listflow: ${line}\n`),
    db: () => (db ??= openCliDatabase(config)),
    // Loaded on demand: the Temporal client takes a noticeable time to load, and most commands never need it.
    temporal: () => (temporal ??= import('./temporal.js').then((m) => m.openTemporal(config))),
    actor: `cli:${osUser()}`,
    async close() {
      const closing: Promise<unknown>[] = [];
      if (db) closing.push(db.then((d) => d.end()));
      if (temporal) closing.push(temporal.then((t) => t.connection.close()));
      // A connection that never opened has nothing to close.
      await Promise.allSettled(closing);
    },
  };
}
