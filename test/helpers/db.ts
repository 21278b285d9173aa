// A fresh PostgreSQL database per test file, migrated, and dropped afterwards.
import { createScratchDatabase, type ScratchDatabase } from '../../store/scratch.js';

/** The server tests use: TEST_DATABASE_URL, else the local PostgreSQL CI provides. */
export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export type TestDatabase = ScratchDatabase;

export function createTestDatabase(): Promise<TestDatabase> {
  return createScratchDatabase(ADMIN_URL, 'listflow_test', 20);
}
