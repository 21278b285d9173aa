// A real SMTP server on loopback that records what it receives and fails on demand: the far end of delivery in tests.
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

export interface Received {
  from: string;
  to: string[];
  raw: Buffer;
  at: number;
}

export interface RecorderFaults {
  /** RCPT replies by recipient address (lower-case): e.g. { 'bob@x': 450 } or 550. */
  rcpt?: Record<string, number>;
  /** The text of those RCPT replies by recipient (default: "5.1.1 no such user" / "4.2.1 mailbox busy, try later"). */
  rcptText?: Record<string, string>;
  /** Reply to the end of DATA for the next N transactions, e.g. { code: 451, times: 1 }. */
  data?: { code: number; times: number };
  /** Drop the connection after this many more accepted transactions (mid-batch), once. */
  dropAfter?: number;
  /** Wait this long before answering each end of DATA (slows a fan-out so it can be interrupted). */
  delayMs?: number;
}

export interface SmtpRecorder {
  url: string;
  port: number;
  received: Received[];
  faults: RecorderFaults;
  /** Every accepted (message, recipient) pair, as lower-case recipient addresses. */
  deliveredTo(): string[];
  /** Resolves once `predicate` holds for what was received (polls; rejects after timeoutMs). */
  waitFor(predicate: (received: Received[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

function fail(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

export async function startSmtpRecorder(faults: RecorderFaults = {}): Promise<SmtpRecorder> {
  const received: Received[] = [];
  const state = { faults };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      const code = state.faults.rcpt?.[address.address.toLowerCase()];
      const text = state.faults.rcptText?.[address.address.toLowerCase()];
      if (code) return callback(fail(code, text ?? (code >= 500 ? '5.1.1 no such user' : '4.2.1 mailbox busy, try later')));
      callback();
    },
    onData(stream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const finish = () => {
          const f = state.faults;
          if (f.data && f.data.times > 0) {
            f.data.times -= 1;
            return callback(fail(f.data.code, f.data.code >= 500 ? '5.6.0 message refused' : '4.3.0 temporary trouble'));
          }
          if (f.dropAfter !== undefined) {
            if (f.dropAfter <= 0) {
              f.dropAfter = undefined;
              // Close without a reply: the client cannot know whether the message was taken.
              // smtp-server keeps the socket on its connection object; there is no public way to abort one.
              for (const conn of server.connections) {
                const c = conn as unknown as { session: SMTPServerSession; _socket: { destroy(): void } };
                if (c.session === session) c._socket.destroy();
              }
              return;
            }
            f.dropAfter -= 1;
          }
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks),
            at: Date.now(),
          });
          callback(null, 'recorded');
        };
        if (state.faults.delayMs) setTimeout(finish, state.faults.delayMs);
        else finish();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    received,
    get faults() {
      return state.faults;
    },
    set faults(f: RecorderFaults) {
      state.faults = f;
    },
    deliveredTo: () => received.flatMap((r) => r.to.map((t) => t.toLowerCase())),
    async waitFor(predicate, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(received)) {
        if (Date.now() > deadline) throw new Error(`the SMTP recorder did not see the expected mail within ${timeoutMs} ms (it has ${received.length} messages)`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
