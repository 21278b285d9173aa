// Checking a listening port before a service takes it, so a busy port is a clear message, not a stack trace.
import net from 'node:net';

export class PortBusyError extends Error {
  override name = 'PortBusyError';
}

/** Throws PortBusyError naming what wanted the port and which setting moves it. */
export async function assertPortFree(host: string, port: number, what: string, setting: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new PortBusyError(`${host}:${port} is already in use, so ${what} cannot start there — is listflow already running? (move it with ${setting})`));
      } else if (err.code === 'EACCES') {
        reject(new PortBusyError(`no permission to listen on ${host}:${port} for ${what} (move it with ${setting})`));
      } else {
        reject(err);
      }
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}

/** Turns a listen error from a server into the same clear message. */
export function describeListenError(err: NodeJS.ErrnoException, host: string, port: number, what: string, setting: string): Error {
  if (err.code === 'EADDRINUSE') {
    return new PortBusyError(`${host}:${port} is already in use, so ${what} cannot start there — is listflow already running? (move it with ${setting})`);
  }
  return err;
}

/** A loopback port free at this moment (for tests, benchmarks and embedded services on port 0's behalf). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
