// The DNS resolver sender authentication uses: node's c-ares Resolver, with the servers and the time limit
// listflow is configured with, shaped as mailauth's injectable resolver.
import { Resolver } from 'node:dns/promises';
import type { DNSResolver } from 'mailauth';

/** mailauth's resolver: answers as dns.promises.resolve does, fails with its error codes (ENOTFOUND, ETIMEOUT…). */
export type DnsResolver = DNSResolver;
type Answer = Awaited<ReturnType<DnsResolver>>;

export interface DnsOptions {
  /** `ip` or `ip:port` / `[ipv6]:port` entries; undefined or empty: the system's servers. */
  servers?: string[];
  /** The longest one query may take, retries included, before it fails with ETIMEOUT. */
  timeoutMs?: number;
}

export const DEFAULT_DNS_TIMEOUT_MS = 5000;

function timeoutError(name: string, rrtype: string, ms: number): Error {
  return Object.assign(new Error(`DNS query ${rrtype} ${name} timed out after ${ms} ms`), { code: 'ETIMEOUT' });
}

export function createDnsResolver(options: DnsOptions = {}): DnsResolver {
  const limit = options.timeoutMs ?? DEFAULT_DNS_TIMEOUT_MS;
  // c-ares doubles its wait on each try, so two tries of a third of the limit end near it; the race below
  // is the hard bound in case they do not.
  const resolver = new Resolver({ timeout: Math.max(100, Math.floor(limit / 3)), tries: 2 });
  if (options.servers && options.servers.length > 0) resolver.setServers(options.servers);
  return (name, rrtype) => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(timeoutError(name, rrtype, limit)), limit);
    });
    return Promise.race([resolver.resolve(name, rrtype) as Promise<Answer>, deadline]).finally(() => clearTimeout(timer));
  };
}

/**
 * One message's share of DNS time: once `budgetMs` is spent, further queries fail at once with ETIMEOUT
 * (a temperror), so a slow server cannot stretch one verification past its activity's timeout.
 */
export function withBudget(resolve: DnsResolver, budgetMs: number): DnsResolver {
  const end = Date.now() + budgetMs;
  return (name, rrtype) => {
    const left = end - Date.now();
    if (left <= 0) return Promise.reject(timeoutError(name, rrtype, budgetMs));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(timeoutError(name, rrtype, budgetMs)), left);
    });
    return Promise.race([resolve(name, rrtype), deadline]).finally(() => clearTimeout(timer));
  };
}
