// A line-by-line SMTP/LMTP client for tests that must see the server's exact replies (EHLO extensions, per-recipient LMTP answers).
import net from 'node:net';

export interface Reply {
  code: number;
  /** Every line of the reply without the code and separator, e.g. ['listflow.test', 'SIZE 4096', …]. */
  lines: string[];
  /** The whole reply as it came, lines joined with '\n'. */
  text: string;
}

export interface Dialogue {
  greeting: Reply;
  /** Sends one command line and resolves with the server's reply to it. */
  command(line: string): Promise<Reply>;
  /**
   * Sends DATA, then the message (dot-stuffed) and the final dot. Resolves with the reply to DATA
   * and the replies to the message: one for SMTP, one per accepted recipient for LMTP.
   */
  data(raw: Buffer, replies?: number): Promise<{ start: Reply; final: Reply[] }>;
  /** Writes bytes exactly as given (no dot-stuffing, no line ends added): for hostile clients. */
  write(bytes: Buffer | string): Promise<void>;
  /** The next reply the server sends (rejects once the connection is closed and no reply is left). */
  reply(): Promise<Reply>;
  /** Resolves when the server has closed the connection. */
  closed: Promise<void>;
  close(): void;
}

function parseReply(lines: string[]): Reply {
  const code = Number((lines[0] ?? '').slice(0, 3));
  return { code, lines: lines.map((l) => l.slice(4)), text: lines.join('\n') };
}

/** Opens a plain-text session to 127.0.0.1:port (from `localAddress`, e.g. 127.0.0.2, if given) and reads the greeting. */
export async function openDialogue(port: number, timeoutMs = 30_000, localAddress?: string): Promise<Dialogue> {
  const socket = net.connect({ host: '127.0.0.1', port, ...(localAddress ? { localAddress } : {}) });
  const replies: Reply[] = [];
  const waiters: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  let pending = '';
  let current: string[] = [];
  let failure: Error | null = null;

  const deliver = (r: Reply) => {
    const w = waiters.shift();
    if (w) w.resolve(r);
    else replies.push(r);
  };
  const failAll = (err: Error) => {
    failure = err;
    for (const w of waiters.splice(0)) w.reject(err);
  };
  socket.setEncoding('utf8');
  socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no reply from the SMTP server within ${timeoutMs} ms`)));
  socket.on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\r\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 2);
      current.push(line);
      // "250-…" continues a reply, "250 …" (or a bare "250") ends it.
      if (line.length === 3 || line[3] === ' ') {
        deliver(parseReply(current));
        current = [];
      }
    }
  });
  socket.on('error', (err) => failAll(err));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('close', () => failAll(new Error('the SMTP server closed the connection')));

  const next = (): Promise<Reply> => {
    const ready = replies.shift();
    if (ready) return Promise.resolve(ready);
    if (failure) return Promise.reject(failure);
    return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
  };

  const greeting = await next();
  return {
    greeting,
    command(line) {
      socket.write(`${line}\r\n`);
      return next();
    },
    async data(raw, count = 1) {
      socket.write('DATA\r\n');
      const start = await next();
      if (start.code !== 354) return { start, final: [] };
      let text = raw.toString('binary');
      if (!text.endsWith('\r\n')) text += '\r\n';
      socket.write(Buffer.from(text.replace(/^\./gm, '..'), 'binary'));
      socket.write('.\r\n');
      const final: Reply[] = [];
      for (let i = 0; i < count; i++) final.push(await next());
      return { start, final };
    },
    write(bytes) {
      return new Promise<void>((resolve, reject) => socket.write(bytes, (err) => (err ? reject(err) : resolve())));
    },
    reply: next,
    closed,
    close() {
      socket.end('QUIT\r\n');
    },
  };
}
