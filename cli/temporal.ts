// Connects to the Temporal frontend the server uses; an unreachable one is one clear line, quickly.
import net from 'node:net';
import { Client, Connection, isGrpcServiceError, ServiceError } from '@temporalio/client';
import { parseHostPort, temporalAddressOf, type Config } from '../runtime/config.js';
import { CliError } from './errors.js';

export interface TemporalSession {
  connection: Connection;
  client: Client;
  address: string;
}

export function unreachableMessage(config: Config, detail?: string): string {
  const address = temporalAddressOf(config);
  return config.temporalAddress
    ? `cannot reach Temporal at TEMPORAL_ADDRESS=${address}${detail ? ` (${detail})` : ''}`
    : `cannot reach listflow's Temporal dev server on ${address}: start listflow (npm start) or set TEMPORAL_ADDRESS`;
}

/** A plain TCP connect: a refused port fails at once, where the gRPC client would wait out its whole timeout. */
function probe(address: string, timeoutMs: number): Promise<void> {
  const { host, port } = parseHostPort('TEMPORAL_ADDRESS', address);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs / 1000}s`)));
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

export async function openTemporal(config: Config): Promise<TemporalSession> {
  const address = temporalAddressOf(config);
  try {
    await probe(address, 5000);
  } catch (err) {
    throw new CliError(unreachableMessage(config, (err as Error).message));
  }
  let connection: Connection;
  try {
    connection = await Connection.connect({ address, connectTimeout: 10_000 });
  } catch (err) {
    throw new CliError(unreachableMessage(config, (err as Error).message));
  }
  return { connection, client: new Client({ connection, namespace: config.namespace }), address };
}

/** True when a Temporal call failed because the frontend went away (gRPC UNAVAILABLE). */
export function isUnavailable(err: unknown): boolean {
  const cause = err instanceof ServiceError ? err.cause : err;
  return isGrpcServiceError(cause) && cause.code === 14;
}
