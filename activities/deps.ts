// What activities are given: connections and settings, created once per worker process.
import type { Db } from '../store/db.js';
import type { DnsResolver } from './dns.js';
import type { SmtpTransport } from './smtp.js';

export interface ActivityDeps {
  db: Db;
  /** Needed by the delivery activities only; core-only workers may leave it out. */
  transport?: SmtpTransport;
  publicUrl: string;
  hostname: string;
  /** DNS for sender authentication (SPF, DKIM, DMARC, ARC); without it posts are recorded as not verified. */
  dns?: DnsResolver;
  /** The task queues of this deployment, for activities that start workflows (bounce processing's bouncers); the workers set it. */
  taskQueues?: { core: string; delivery: string; bounces: string };
}

export function requireTransport(deps: ActivityDeps): SmtpTransport {
  if (!deps.transport) throw new Error('this worker has no SMTP transport (it does not run the delivery role)');
  return deps.transport;
}
