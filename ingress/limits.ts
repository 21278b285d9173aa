// The ingress's limits against hostile clients: one object, with defaults chosen as a public MX would (Postfix's where it has one).

export interface IngressLimits {
  /** Connections at once, all clients together (smtp-server's maxClients); over it: 421. */
  maxConnections: number;
  /** Connections at once from one IP address; over it: 421 before the greeting. */
  maxConnectionsPerIp: number;
  /** A client silent this long (ms) while it owes us input gets 421 (smtp-server's socketTimeout). */
  idleTimeoutMs: number;
  /** A whole session, however active, ends with 421 after this long (ms): bounds a client trickling bytes. */
  sessionTimeoutMs: number;
  /**
   * Least average DATA rate (bytes/s): the message must be in by idle timeout + bytes/rate after DATA,
   * else 421 (Postfix's smtpd_min_data_rate, 500).
   */
  minDataRate: number;
  /** Commands in one session; the next one gets 421 and the client continues on a new connection. */
  maxCommands: number;
  /** Accepted recipients in one transaction; the next gets 452 4.5.3 (RFC 5321 4.5.3.1.8 asks for at least 100). */
  maxRecipients: number;
  /** Refused (unknown) recipients in one session; the next RCPT gets 421 and the session ends (Postfix's hard error limit, 20). */
  maxUnknownRecipients: number;
}

export const DEFAULT_INGRESS_LIMITS: Readonly<IngressLimits> = {
  maxConnections: 100,
  maxConnectionsPerIp: 10,
  idleTimeoutMs: 5 * 60_000,
  sessionTimeoutMs: 30 * 60_000,
  minDataRate: 500,
  maxCommands: 1000,
  maxRecipients: 100,
  maxUnknownRecipients: 20,
};

/** RFC 5322 2.1.1: a line is at most 998 octets without its CRLF. */
export const MAX_LINE_OCTETS = 998;
