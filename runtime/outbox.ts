// The embedded outbox: a loopback SMTP server standing in for the outbound MTA, writing each message it accepts as an .eml file.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import type { HostPort } from './config.js';
import { describeListenError } from './ports.js';

export interface Outbox {
  url: string;
  dir: string;
  stop(): Promise<void>;
}

/**
 * Each accepted transaction becomes `<dir>/<yyyy-mm-dd>/<time>-<id>.eml` (the bytes as sent) and a
 * `.json` beside it with the envelope, so an operator can see exactly what members would have got.
 */
export async function startOutbox(listen: HostPort, dir: string, hostname: string): Promise<Outbox> {
  await mkdir(dir, { recursive: true });
  const server = new SMTPServer({
    name: hostname,
    banner: 'listflow outbox',
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', callback);
      stream.on('end', () => {
        const now = new Date();
        const day = path.join(dir, now.toISOString().slice(0, 10));
        const base = path.join(day, `${now.toISOString().replace(/[:.]/g, '-')}-${randomBytes(4).toString('hex')}`);
        const envelope = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          receivedAt: now.toISOString(),
        };
        mkdir(day, { recursive: true })
          .then(() => writeFile(`${base}.eml`, Buffer.concat(chunks)))
          // The envelope is written whole or not at all (renamed into place): it is what says "accepted".
          .then(() => writeFile(`${base}.json.tmp`, `${JSON.stringify(envelope)}\n`))
          .then(() => rename(`${base}.json.tmp`, `${base}.json`))
          .then(() => callback(null, 'kept in the outbox'))
          .catch((err: Error) => callback(Object.assign(new Error(`outbox cannot write: ${err.message}`), { responseCode: 451 })));
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(describeListenError(err as NodeJS.ErrnoException, listen.host, listen.port, 'the outbox', 'LISTFLOW_OUTBOX_LISTEN, or set LISTFLOW_SMARTHOST')));
    server.listen(listen.port, listen.host, () => resolve());
  });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : listen.port;
  return {
    url: `smtp://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${port}`,
    dir,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
