// Moderator passwords: stored only as salted scrypt hashes (`scrypt$N$r$p$salt$hash`), compared in constant
// time. Checking one runs scrypt on libuv's thread pool (async), never on the event loop's thread: a worker
// keeps heartbeating and running other activities while a post's Approved: line is checked.
import { randomBytes, scrypt, scryptSync, timingSafeEqual, type ScryptOptions } from 'node:crypto';

// scrypt's interactive-login cost (N=2^14, r=8, p=1): tens of milliseconds, paid only for posts that carry an Approved: line.
const N = 16384;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;
const FORMAT = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]{16,})\$([A-Za-z0-9+/=]{40,})$/;

/**
 * Hashes a password being set (`lists set moderator_password=…`, a one-shot CLI process, so synchronous).
 * Every value listflow ever stored has this form; the cost is read back from each hash, so hashes made
 * with other parameters stay verifiable and a new password is hashed with the current ones.
 */
export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password.normalize('NFC'), salt, KEY_LENGTH, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export function isPasswordHash(text: string): boolean {
  const m = FORMAT.exec(text);
  // Refuse absurd costs from a hand-edited row: they would stall a worker on every Approved: line.
  return !!m && Number(m[1]) <= 1 << 20 && Number(m[2]) <= 16 && Number(m[3]) <= 4;
}

function scryptAsync(password: string, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, length, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** True when `password` is the one `stored` was made from; false for any malformed hash. Runs off the event loop. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  const m = FORMAT.exec(stored);
  if (!m || !isPasswordHash(stored)) return false;
  const expected = Buffer.from(m[5] as string, 'base64');
  try {
    const actual = await scryptAsync(password.normalize('NFC'), Buffer.from(m[4] as string, 'base64'), expected.length, {
      N: Number(m[1]),
      r: Number(m[2]),
      p: Number(m[3]),
      maxmem: 256 * 1024 * 1024,
    });
    return timingSafeEqual(actual, expected);
  } catch {
    return false;
  }
}
