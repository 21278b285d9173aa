// The one validated configuration object of a listflow process, read once from the environment.
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { EMBEDDED_USER, embeddedPassword } from './embedded-postgres.js';
import { DEFAULT_INGRESS_LIMITS, type IngressLimits } from '../ingress/limits.js';
import type { TlsFiles } from '../ingress/tls.js';

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
  /** The ingress's limits against hostile clients (README, "Ingress limits"). */
  ingressLimits: IngressLimits;
  /** STARTTLS: the operator's certificate files, a self-signed one made in the data dir, or none at all. */
  ingressTls: TlsFiles | 'self-signed' | 'none';
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

/** LISTFLOW_INGRESS_*: the ingress's limits, each a positive whole number (durations in seconds). */
export function parseIngressLimits(env: Env): IngressLimits {
  const d = DEFAULT_INGRESS_LIMITS;
  const limits: IngressLimits = {
    maxConnections: positiveInt('LISTFLOW_INGRESS_MAX_CONNECTIONS', env.LISTFLOW_INGRESS_MAX_CONNECTIONS, d.maxConnections),
    maxConnectionsPerIp: positiveInt('LISTFLOW_INGRESS_MAX_CONNECTIONS_PER_IP', env.LISTFLOW_INGRESS_MAX_CONNECTIONS_PER_IP, d.maxConnectionsPerIp),
    idleTimeoutMs: positiveInt('LISTFLOW_INGRESS_IDLE_SECONDS', env.LISTFLOW_INGRESS_IDLE_SECONDS, d.idleTimeoutMs / 1000) * 1000,
    sessionTimeoutMs: positiveInt('LISTFLOW_INGRESS_SESSION_SECONDS', env.LISTFLOW_INGRESS_SESSION_SECONDS, d.sessionTimeoutMs / 1000) * 1000,
    minDataRate: positiveInt('LISTFLOW_INGRESS_MIN_DATA_RATE', env.LISTFLOW_INGRESS_MIN_DATA_RATE, d.minDataRate),
    maxCommands: positiveInt('LISTFLOW_INGRESS_MAX_COMMANDS', env.LISTFLOW_INGRESS_MAX_COMMANDS, d.maxCommands),
    maxRecipients: positiveInt('LISTFLOW_INGRESS_MAX_RECIPIENTS', env.LISTFLOW_INGRESS_MAX_RECIPIENTS, d.maxRecipients),
    maxUnknownRecipients: positiveInt('LISTFLOW_INGRESS_MAX_UNKNOWN_RECIPIENTS', env.LISTFLOW_INGRESS_MAX_UNKNOWN_RECIPIENTS, d.maxUnknownRecipients),
  };
  if (limits.maxConnectionsPerIp > limits.maxConnections) {
    throw new ConfigError(
      `LISTFLOW_INGRESS_MAX_CONNECTIONS_PER_IP=${limits.maxConnectionsPerIp} is more than LISTFLOW_INGRESS_MAX_CONNECTIONS=${limits.maxConnections}`,
    );
  }
  if (limits.sessionTimeoutMs < limits.idleTimeoutMs) {
    throw new ConfigError(
      `LISTFLOW_INGRESS_SESSION_SECONDS=${limits.sessionTimeoutMs / 1000} is shorter than LISTFLOW_INGRESS_IDLE_SECONDS=${limits.idleTimeoutMs / 1000}`,
    );
  }
  return limits;
}

/** LISTFLOW_TLS_CERT and LISTFLOW_TLS_KEY: both files, neither (a self-signed certificate), or CERT=none (no STARTTLS). */
export function parseIngressTls(env: Env): TlsFiles | 'self-signed' | 'none' {
  const cert = env.LISTFLOW_TLS_CERT || undefined;
  const key = env.LISTFLOW_TLS_KEY || undefined;
  if (cert === 'none' && !key) return 'none';
  if (!cert && !key) return 'self-signed';
  if (!cert || !key) {
    throw new ConfigError(`LISTFLOW_TLS_CERT and LISTFLOW_TLS_KEY go together: set both (PEM files), or neither for a self-signed certificate`);
  }
  for (const [name, file] of [['LISTFLOW_TLS_CERT', cert], ['LISTFLOW_TLS_KEY', key]] as const) {
    if (!existsSync(file)) throw new ConfigError(`${name}=${file}: no such file`);
  }
  return { cert: path.resolve(cert), key: path.resolve(key) };
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
    ingressLimits: parseIngressLimits(env),
    ingressTls: parseIngressTls(env),
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
