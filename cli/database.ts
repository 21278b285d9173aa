// Opens the database the server uses, turning every way of not reaching it into one line that says what to do.
import { openDatabase } from '../runtime/database.js';
import type { Config } from '../runtime/config.js';
import type { Db } from '../store/db.js';
import { CliError } from './errors.js';

/** Where the database is, for messages: never the password. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return 'DATABASE_URL';
  }
}

export async function openCliDatabase(config: Config): Promise<Db> {
  try {
    // One command needs one or two connections at a time.
    return await openDatabase(config, 2);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (config.databaseUrl) {
      const detail = e.message.replace(/^cannot reach the database at DATABASE_URL \((.*)\)$/, '$1');
      throw new CliError(`cannot use the database at DATABASE_URL (${describeUrl(config.databaseUrl)}): ${detail}`);
    }
    const unreachable = /^cannot reach|Connection terminated|timeout/i.test(e.message) || /^E(CONNREFUSED|CONNRESET|TIMEDOUT|HOSTUNREACH)$/.test(e.code ?? '');
    if (!unreachable) throw new CliError(`cannot open listflow's embedded database: ${e.message}`);
    throw new CliError(
      `cannot reach listflow's embedded database on ${config.postgresListen.host}:${config.postgresListen.port}: start listflow (npm start) or set DATABASE_URL`,
    );
  }
}
