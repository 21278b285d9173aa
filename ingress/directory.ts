// Which list addresses exist, as ingress sees them: a copy of the table re-read every few seconds, a direct lookup on
// a miss (a list made since), and a bounded cache of addresses known not to exist so a dictionary attack is not a query per RCPT.
import { LRUCache } from 'lru-cache';
import { parseListRecipient, type ListRecipient } from '../mail/address.js';
import type { Db } from '../store/db.js';
import { existingLists, listAddresses } from '../store/lists.js';

/** How often the whole set of list addresses is re-read: a new list is reachable within this, cache or not. */
const RELOAD_MS = 5000;
/** Addresses remembered as absent; a bounded number, so an attacker's dictionary cannot grow memory. */
const NEGATIVE_ENTRIES = 10_000;
/**
 * How long an absence is believed. It can be long without harm: the periodic reload finds a new list whatever
 * this cache says, so a cached absence never delays a new list more than RELOAD_MS.
 */
const NEGATIVE_TTL_MS = 60_000;

export class ListDirectory {
  private lists = new Set<string>();
  private loadedAt = 0;
  private reloading: Promise<void> | null = null;
  private readonly absent = new LRUCache<string, true>({ max: NEGATIVE_ENTRIES, ttl: NEGATIVE_TTL_MS });

  constructor(private readonly db: Db) {}

  async resolve(rcpt: string): Promise<ListRecipient | null> {
    if (Date.now() - this.loadedAt > RELOAD_MS) await this.reload();
    const found = parseListRecipient(rcpt, (a) => this.lists.has(a));
    if (found) return found;
    // A miss may be a list created since the last reload; a 550 for it would be permanent, so ask the
    // database about the lists this address could belong to (unless each is already known absent) before refusing it.
    const candidates: string[] = [];
    parseListRecipient(rcpt, (a) => {
      if (!this.absent.has(a)) candidates.push(a);
      return false;
    });
    if (candidates.length === 0) return null;
    const existing = new Set(await existingLists(this.db, candidates));
    for (const address of candidates) {
      if (existing.has(address)) this.lists.add(address);
      else this.absent.set(address, true);
    }
    return parseListRecipient(rcpt, (a) => this.lists.has(a));
  }

  private reload(): Promise<void> {
    // Concurrent sessions share one reload rather than each reading the table.
    this.reloading ??= listAddresses(this.db)
      .then((addresses) => {
        this.lists = new Set(addresses);
        this.loadedAt = Date.now();
      })
      .finally(() => {
        this.reloading = null;
      });
    return this.reloading;
  }
}
