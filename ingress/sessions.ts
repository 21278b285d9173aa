// Per-connection limits smtp-server has no option for: connections per IP, commands per session, a session deadline,
// and a least DATA rate. Each cut-off is a 421 (the client keeps the message and retries) and one log line.
import type net from 'node:net';
import type tls from 'node:tls';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import type { IngressLimits } from './limits.js';

/** smtp-server's connection class, which its package does not export by name. */
type Connection = SMTPServer['connections'] extends Set<infer C> ? C : never;
type ConnectOptions = Parameters<SMTPServer['connect']>[1];

/** A message's DATA as the session deadline sees it: told the bytes so far, and when it is over. */
export interface DataTimer {
  progress(bytes: number): void;
  done(): void;
}

/** What ingress keeps about one session beyond smtp-server's own state. */
export interface SessionState {
  /** Names the session in log lines: smtp-server's ID and the client's address. */
  who: string;
  unknownRecipients: number;
  beginData(): DataTimer;
}

/** Strips the IPv4-mapped prefix a dual-stack listener reports, so one client is one key. */
function clientIp(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:/i, '').toLowerCase();
}

export class GuardedSMTPServer extends SMTPServer {
  private readonly perIp = new Map<string, number>();
  private readonly states = new WeakMap<SMTPServerSession, SessionState>();

  constructor(
    options: SMTPServerOptions,
    private readonly limits: IngressLimits,
    private readonly log: (line: string) => void,
  ) {
    super({ ...options, maxClients: limits.maxConnections, socketTimeout: limits.idleTimeoutMs });
  }

  /** The state of a session this server accepted (always there for a session smtp-server hands to a handler). */
  stateOf(session: SMTPServerSession): SessionState {
    const state = this.states.get(session);
    if (!state) throw new Error(`ingress: no state for session ${session.id}`);
    return state;
  }

  override connect(socket: net.Socket | tls.TLSSocket, socketOptions?: ConnectOptions): void {
    const ip = clientIp(socketOptions?.remoteAddress ?? socket.remoteAddress);
    const open = this.perIp.get(ip) ?? 0;
    if (open >= this.limits.maxConnectionsPerIp) {
      this.log(`refused a connection from ${ip}: ${open} already open from that address (limit ${this.limits.maxConnectionsPerIp})`);
      socket.on('error', () => {});
      socket.end('421 4.7.0 too many connections from your address, try again later\r\n');
      setTimeout(() => socket.destroy(), 5000).unref();
      return;
    }
    this.perIp.set(ip, open + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (this.perIp.get(ip) ?? 1) - 1;
      if (left > 0) this.perIp.set(ip, left);
      else this.perIp.delete(ip);
    };
    // After STARTTLS the plain socket reports no 'close' of its own (the TLS socket took it over): the
    // connection's own close, which follows whichever socket is current, is what ends the count.
    socket.once('close', release);
    super.connect(socket, socketOptions);
    let connection: Connection | undefined;
    for (const c of this.connections) if (c._socket === socket) connection = c;
    if (!connection) {
      release();
      return;
    }
    const onClose = connection._onClose.bind(connection);
    connection._onClose = () => {
      release();
      onClose();
    };
    this.guard(connection, ip);
  }

  private guard(connection: Connection, ip: string): void {
    const who = `${connection.id} [${ip}]`;
    const cut = (reason: string, reply: string) => {
      this.log(`${who}: closing the session: ${reason}`);
      connection.send(421, reply);
    };
    // Waiting for our own onData decision (storing, starting workflows) is not the client's slowness: let it finish.
    const busy = () => connection._handlerPending || Boolean(connection._dataStream && connection._parser && !connection._parser._dataMode);

    let commands = 0;
    const onCommand = connection._onCommand.bind(connection);
    connection._onCommand = (command, callback) => {
      commands++;
      if (commands > this.limits.maxCommands) {
        cut(`more than ${this.limits.maxCommands} commands`, `4.7.0 too many commands in one session (${this.limits.maxCommands}), continue on a new connection`);
        return;
      }
      onCommand(command, callback);
    };

    let sessionTimer: NodeJS.Timeout | undefined;
    const onSessionDeadline = () => {
      if (busy()) {
        sessionTimer = setTimeout(onSessionDeadline, 1000).unref();
        return;
      }
      cut(`session longer than ${this.limits.sessionTimeoutMs / 1000} s`, '4.4.2 session time limit reached, try again later');
    };
    // Unref'd: a session's timers never keep the process alive by themselves (the listening socket does).
    sessionTimer = setTimeout(onSessionDeadline, this.limits.sessionTimeoutMs).unref();

    let dataTimer: NodeJS.Timeout | undefined;
    const onClose = connection._onClose.bind(connection);
    connection._onClose = () => {
      clearTimeout(sessionTimer);
      clearTimeout(dataTimer);
      onClose();
    };

    this.states.set(connection.session, {
      who,
      unknownRecipients: 0,
      beginData: () => {
        // The message must be in by: DATA + idle timeout + bytes so far at the least rate (Postfix's smtpd_min_data_rate).
        const start = Date.now();
        let bytes = 0;
        let over = false;
        const deadline = () => start + this.limits.idleTimeoutMs + (bytes * 1000) / this.limits.minDataRate;
        const check = () => {
          if (over) return;
          const now = Date.now();
          if (now < deadline()) {
            dataTimer = setTimeout(check, deadline() - now).unref();
            return;
          }
          over = true;
          cut(`DATA slower than ${this.limits.minDataRate} bytes/s (${bytes} bytes in ${((now - start) / 1000).toFixed(1)} s)`, '4.4.2 message transfer too slow, try again later');
        };
        dataTimer = setTimeout(check, this.limits.idleTimeoutMs).unref();
        return {
          progress: (n) => {
            bytes = n;
          },
          done: () => {
            over = true;
            clearTimeout(dataTimer);
          },
        };
      },
    });
  }
}
