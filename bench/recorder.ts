// A tiny SMTP server on port 0 that timestamps the first copy of each Message-ID it receives.
import { SMTPServer } from 'smtp-server';

export interface Recorder {
  url: string;
  /** Resolves with the moment (performance.now()) the first copy of this Message-ID arrived. */
  firstCopy(messageId: string, timeoutMs: number): Promise<number>;
  recipients(): number;
  close(): Promise<void>;
}

export async function startRecorder(): Promise<Recorder> {
  const arrived = new Map<string, number>();
  const waiting = new Map<string, (at: number) => void>();
  let recipients = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      let head = '';
      stream.on('data', (c: Buffer) => {
        if (head.length < 8192) head += c.toString('latin1');
      });
      stream.on('end', () => {
        const at = performance.now();
        recipients += session.envelope.rcptTo.length;
        const id = /^Message-ID:\s*<([^>]+)>/im.exec(head)?.[1];
        if (id && !arrived.has(id)) {
          arrived.set(id, at);
          waiting.get(id)?.(at);
          waiting.delete(id);
        }
        callback(null, 'recorded');
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    firstCopy(messageId, timeoutMs) {
      const at = arrived.get(messageId);
      if (at !== undefined) return Promise.resolve(at);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(messageId);
          reject(new Error(`no copy of ${messageId} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(messageId, (t) => {
          clearTimeout(timer);
          resolve(t);
        });
      });
    },
    recipients: () => recipients,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
