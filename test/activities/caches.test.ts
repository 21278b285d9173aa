// Caches of message bytes are bounded in bytes: 32 cached 25 MiB messages cannot take 800 MiB of a worker.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createByteCache, createMessageCache, MESSAGE_CACHE_BYTES, SIGNED_CACHE_BYTES } from '../../activities/byte-cache.js';
import { signOutgoing } from '../../activities/signing.js';
import { generateDkimKey } from '../../mail/dkim-keys.js';
import { putDkimKey } from '../../store/dkim-keys.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const MiB = 1024 * 1024;

describe('caches of message bytes', () => {
  it('the delivery message cache holds 32 × 25 MiB within its configured size, most recent kept', () => {
    const cache = createMessageCache();
    // One buffer counted 32 times: the cache counts bytes by length, the test need not allocate 800 MiB.
    const big = Buffer.alloc(25 * MiB, 0x61);
    for (let i = 0; i < 32; i++) {
      cache.set(`sha-${i}`, big);
      assert.ok(cache.calculatedSize <= MESSAGE_CACHE_BYTES, `after ${i + 1}: ${cache.calculatedSize} bytes > ${MESSAGE_CACHE_BYTES}`);
    }
    assert.equal(cache.maxSize, MESSAGE_CACHE_BYTES);
    assert.ok(cache.size <= Math.floor(MESSAGE_CACHE_BYTES / (25 * MiB)), `${cache.size} entries`);
    assert.ok(cache.has('sha-31'), 'the latest is kept');
    assert.ok(!cache.has('sha-0'), 'the oldest went');
  });

  it('a message larger than the whole cache is not kept, and small ones are bounded in number', () => {
    const cache = createMessageCache(10 * MiB);
    cache.set('huge', Buffer.alloc(11 * MiB));
    assert.equal(cache.has('huge'), false);
    assert.equal(cache.calculatedSize, 0);
    const small = Buffer.alloc(100);
    for (let i = 0; i < 1000; i++) cache.set(`s${i}`, small);
    assert.ok(cache.size <= 256);
  });

  it('the signed-copy cache is bounded the same way', () => {
    const cache = createByteCache(SIGNED_CACHE_BYTES, 32);
    const big = Buffer.alloc(25 * MiB);
    for (let i = 0; i < 32; i++) cache.set(`digest-${i}`, big);
    assert.ok(cache.calculatedSize <= SIGNED_CACHE_BYTES);
  });

  describe('the signer behind its caches', () => {
    let database: TestDatabase;
    before(async () => {
      database = await createTestDatabase();
    });
    after(async () => {
      await database.drop();
    });

    it('signs once per identical bytes and key, and finds a key added later once its minute is up', async () => {
      const deps = { db: database.db, publicUrl: 'http://127.0.0.1:8025', hostname: 'listflow.test' };
      const raw = Buffer.from('From: a@example.com\r\nTo: dev@lists.example\r\nSubject: hi\r\n\r\nbody\r\n');
      assert.equal(await signOutgoing(raw, 'dev@lists.example', deps), raw, 'no key: unsigned');
      await putDkimKey(database.db, generateDkimKey('lists.example', 's1', 'ed25519'), false);
      const other = { ...deps };
      const first = await signOutgoing(raw, 'dev@lists.example', other);
      assert.match(first.toString('utf8'), /^DKIM-Signature: .*d=lists\.example/);
      assert.equal(await signOutgoing(raw, 'dev@lists.example', other), first, 'the memo returns the same signed copy');
    });
  });
});
