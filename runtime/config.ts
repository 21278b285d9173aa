// The one validated configuration object of a listflow process, read once from the environment.
import { isIP } from 'node:net';
import path from 'node:path';
import { EMBEDDED_USER, embeddedPassword } from './embedded-postgres.js';

export type Role = 'ingress' | 'core' | 'delivery' | 'web';
export const ALL_ROLES: readonly Role[] = ['ingress', 'core', 'delivery', 'web'];

export interface HostPort {
  host: string;
  port: number;
}

export interface Config {
  dataDir: string;
  /** A PostgreSQL URL, or undefined for the embedded PostgreSQL server run from the data dir. */
  databaseUrl: string | undefined;
  /** Where the embedded PostgreSQL listens (used only when databaseUrl is undefined). */
  postgresListen: HostPort;
  /** A Temporal frontend address, or undefined for the embedded dev server. */
  temporalAddress: string | undefined;
  /** Where the embedded dev server listens (used only when temporalAddress is undefined). */
  temporalDevListen: HostPort;
  temporalUiPort: number;
  namespace: string;
  taskQueue: string;
  deliveryTaskQueue: string;
  smtpListen: HostPort;
  lmtp: boolean;
  /** Largest message ingress accepts, in bytes (advertised with SIZE). */
  maxMessageBytes: number;
  /** smtp://host:port of the outbound MTA, or undefined for the embedded outbox. */
  smarthost: string | undefined;
  outboxListen: HostPort;
  smtpConnections: number;
  httpListen: HostPort;
  publicUrl: string;
  roles: Role[];
  /** The host name listflow uses in greetings and generated Message-IDs. */
  hostname: string;
  /** Database connections each role on this host may hold, in pools of their own (LISTFLOW_DB_POOL_<ROLE>). */
  dbPools: Record<Role, number>;
  /** DNS servers for sender authentication (`ip`, `ip:port`, `[ipv6]:port`); undefined: the system's. */
  dnsServers: string[] | undefined;
}

/** A configuration problem: one clear line for the operator. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

export function parseHostPort(name: string, value: string): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`${name}=${value} is not host:port (for example 127.0.0.1:2525 or [::1]:2525)`);
  }
  return { host: (m[1] ?? m[2]) as string, port };
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new ConfigError(`${name}=${value} must be a positive whole number`);
  return n;
}

function url(name: string, value: string, protocols: string[]): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(`${name}=${value} is not a URL`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name}=${value} must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
  return value;
}

export function parseRoles(value: string | undefined): Role[] {
  if (value === undefined || value.trim() === '' || value.trim() === 'all') return [...ALL_ROLES];
  const roles = value.split(',').map((r) => r.trim()).filter(Boolean);
  for (const r of roles) {
    if (!(ALL_ROLES as readonly string[]).includes(r)) {
      throw new ConfigError(`LISTFLOW_ROLES: unknown role "${r}" (known: ${ALL_ROLES.join(', ')}, or all)`);
    }
  }
  return [...new Set(roles)] as Role[];
}

/** LISTFLOW_DNS_SERVERS: comma-separated IP addresses, each with an optional port, as node's setServers takes them. */
export function parseDnsServers(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value.split(',').map((entry) => {
    const e = entry.trim();
    // A resolver is reached by address: a name would need DNS to find DNS.
    const m = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(e) ?? (isIP(e) === 6 ? [e, e] : /^([0-9.]+)(?::(\d{1,5}))?$/.exec(e));
    const ip = m?.[1] ?? '';
    const port = m?.[2] === undefined ? null : Number(m[2]);
    if (!m || !isIP(ip) || (port !== null && (port < 1 || port > 65535))) {
      throw new ConfigError(
        `LISTFLOW_DNS_SERVERS: "${e}" is not an IP address with an optional port (for example 127.0.0.1, 127.0.0.1:5353 or [::1]:53)`,
      );
    }
    if (port === null) return ip;
    return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
  });
}

/** Reads and validates the environment; throws ConfigError with a one-line message on a bad value. */
export function loadConfig(env: Env = process.env): Config {
  const dataDir = path.resolve(env.LISTFLOW_DATA_DIR || './data');
  const databaseUrl = env.DATABASE_URL ? url('DATABASE_URL', env.DATABASE_URL, ['postgres:', 'postgresql:']) : undefined;
  const temporalAddress = env.TEMPORAL_ADDRESS || undefined;
  if (temporalAddress !== undefined) parseHostPort('TEMPORAL_ADDRESS', temporalAddress);
  const smarthost = env.LISTFLOW_SMARTHOST ? url('LISTFLOW_SMARTHOST', env.LISTFLOW_SMARTHOST, ['smtp:', 'smtps:']) : undefined;
  const http = parseHostPort('LISTFLOW_HTTP_LISTEN', env.LISTFLOW_HTTP_LISTEN || '127.0.0.1:8025');
  const publicUrl = url('LISTFLOW_PUBLIC_URL', env.LISTFLOW_PUBLIC_URL || `http://${http.host}:${http.port}`, ['http:', 'https:']);
  const lmtp = env.LISTFLOW_LMTP ?? '';
  if (!['', '0', '1', 'true', 'false'].includes(lmtp)) throw new ConfigError(`LISTFLOW_LMTP=${lmtp} must be true or false`);
  return {
    dataDir,
    databaseUrl,
    // LISTFLOW_PGLITE_LISTEN: its name from when the embedded database was PGlite, still honoured.
    postgresListen: env.LISTFLOW_POSTGRES_LISTEN
      ? parseHostPort('LISTFLOW_POSTGRES_LISTEN', env.LISTFLOW_POSTGRES_LISTEN)
      : parseHostPort('LISTFLOW_PGLITE_LISTEN', env.LISTFLOW_PGLITE_LISTEN || '127.0.0.1:5439'),
    temporalAddress,
    temporalDevListen: parseHostPort('LISTFLOW_TEMPORAL_DEV_LISTEN', env.LISTFLOW_TEMPORAL_DEV_LISTEN || '127.0.0.1:7233'),
    temporalUiPort: positiveInt('LISTFLOW_TEMPORAL_UI_PORT', env.LISTFLOW_TEMPORAL_UI_PORT, 8233),
    namespace: env.TEMPORAL_NAMESPACE || 'default',
    taskQueue: env.LISTFLOW_TASK_QUEUE || 'listflow',
    deliveryTaskQueue: env.LISTFLOW_DELIVERY_TASK_QUEUE || 'listflow-delivery',
    smtpListen: parseHostPort('LISTFLOW_SMTP_LISTEN', env.LISTFLOW_SMTP_LISTEN || '127.0.0.1:2525'),
    lmtp: lmtp === '1' || lmtp === 'true',
    maxMessageBytes: positiveInt('LISTFLOW_MAX_MESSAGE_BYTES', env.LISTFLOW_MAX_MESSAGE_BYTES, 25 * 1024 * 1024),
    smarthost,
    outboxListen: parseHostPort('LISTFLOW_OUTBOX_LISTEN', env.LISTFLOW_OUTBOX_LISTEN || '127.0.0.1:2526'),
    smtpConnections: positiveInt('LISTFLOW_SMTP_CONNECTIONS', env.LISTFLOW_SMTP_CONNECTIONS, 8),
    httpListen: http,
    publicUrl,
    roles: parseRoles(env.LISTFLOW_ROLES),
    hostname: env.LISTFLOW_HOSTNAME || 'localhost',
    dnsServers: parseDnsServers(env.LISTFLOW_DNS_SERVERS),
    dbPools: {
      ingress: positiveInt('LISTFLOW_DB_POOL_INGRESS', env.LISTFLOW_DB_POOL_INGRESS, 8),
      core: positiveInt('LISTFLOW_DB_POOL_CORE', env.LISTFLOW_DB_POOL_CORE, 16),
      delivery: positiveInt('LISTFLOW_DB_POOL_DELIVERY', env.LISTFLOW_DB_POOL_DELIVERY, 16),
      web: positiveInt('LISTFLOW_DB_POOL_WEB', env.LISTFLOW_DB_POOL_WEB, 4),
    },
  };
}

/** The pg connection string for this configuration (the embedded server's when DATABASE_URL is unset). */
export function databaseUrlOf(config: Config): string {
  if (config.databaseUrl) return config.databaseUrl;
  const { host, port } = config.postgresListen;
  const password = embeddedPassword(config.dataDir);
  const auth = password ? `${EMBEDDED_USER}:${encodeURIComponent(password)}` : EMBEDDED_USER;
  return `postgresql://${auth}@${host.includes(':') ? `[${host}]` : host}:${port}/postgres`;
}

export function temporalAddressOf(config: Config): string {
  return config.temporalAddress ?? `${config.temporalDevListen.host}:${config.temporalDevListen.port}`;
}
