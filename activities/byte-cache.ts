// In-memory caches of message bytes, bounded in bytes (not entries): 32 cached 25 MiB messages must not take
// 800 MiB of a worker's memory. A value larger than the whole cache is simply not kept.
import { LRUCache } from 'lru-cache';

const MiB = 1024 * 1024;

/** Decorated posts a delivery worker keeps between batches of the same post: two 25 MiB posts, or hundreds of small ones. */
export const MESSAGE_CACHE_BYTES = 64 * MiB;
/** Signed copies (bulk transactions of one post share one signature). */
export const SIGNED_CACHE_BYTES = 64 * MiB;

export type ByteCache = LRUCache<string, Buffer>;

export function createByteCache(maxBytes: number, maxEntries?: number): ByteCache {
  return new LRUCache<string, Buffer>({
    maxSize: maxBytes,
    // The key counts too (a SHA-256 in hex): an empty value must still cost something.
    sizeCalculation: (value, key) => value.length + key.length,
    ...(maxEntries ? { max: maxEntries } : {}),
  });
}

/** The delivery activities' cache of decorated posts by SHA-256. */
export function createMessageCache(maxBytes = MESSAGE_CACHE_BYTES): ByteCache {
  return createByteCache(maxBytes, 256);
}
