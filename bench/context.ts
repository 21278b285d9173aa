// What every scenario is given: the bench database, the Temporal dev server, and where Postfix's tools are.
import type { BenchTemporal } from './services.js';
import type { Db } from '../store/db.js';

export interface BenchContext {
  db: Db;
  databaseUrl: string;
  temporal: BenchTemporal;
  smtpSink: string | undefined;
  smtpSource: string | undefined;
  log(line: string): void;
}

/** A positive whole number from the environment, or the fallback. */
export function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}=${v} must be a positive whole number`);
  return n;
}

export function envList(name: string, fallback: string[]): string[] {
  const v = process.env[name];
  return v ? v.split(',').map((s) => s.trim()).filter(Boolean) : fallback;
}
