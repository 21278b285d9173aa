// The certificate ingress offers STARTTLS with: the operator's files, or a self-signed one made once in the data dir so
// opportunistic TLS works out of the box (senders encrypt without verifying, as MTAs do by default).
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generate } from 'selfsigned';

export interface TlsFiles {
  cert: string;
  key: string;
}

/** Where a self-signed certificate lives in the data dir. */
export function selfSignedPaths(dataDir: string): TlsFiles {
  const dir = path.join(dataDir, 'tls');
  return { cert: path.join(dir, 'ingress.crt'), key: path.join(dir, 'ingress.key') };
}

async function readPair(files: TlsFiles): Promise<{ cert: string; key: string }> {
  return { cert: await readFile(files.cert, 'utf8'), key: await readFile(files.key, 'utf8') };
}

/**
 * The data dir's self-signed certificate for `hostname`, made on first use and kept (key 0600, directory 0700).
 * Written to temporary names and renamed, so a crash never leaves half a pair.
 */
export async function selfSignedCertificate(dataDir: string, hostname: string, log: (line: string) => void = () => {}): Promise<{ cert: string; key: string; made: boolean }> {
  const files = selfSignedPaths(dataDir);
  try {
    return { ...(await readPair(files)), made: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(path.dirname(files.cert), { recursive: true, mode: 0o700 });
  const notBeforeDate = new Date();
  const notAfterDate = new Date(notBeforeDate);
  notAfterDate.setFullYear(notAfterDate.getFullYear() + 10);
  const pems = await generate([{ name: 'commonName', value: hostname }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: hostname }] },
    ],
  });
  await writeFile(`${files.key}.tmp`, pems.private, { mode: 0o600 });
  await chmod(`${files.key}.tmp`, 0o600); // whatever the umask
  await writeFile(`${files.cert}.tmp`, pems.cert, { mode: 0o644 });
  await rename(`${files.key}.tmp`, files.key);
  await rename(`${files.cert}.tmp`, files.cert);
  log(`made a self-signed STARTTLS certificate for ${hostname} in ${path.dirname(files.cert)} (set LISTFLOW_TLS_CERT and LISTFLOW_TLS_KEY to use your own)`);
  return { cert: pems.cert, key: pems.private, made: true };
}

/** The certificate for the configured setting: files, the data dir's self-signed one, or none (no STARTTLS). */
export async function ingressCertificate(
  setting: TlsFiles | 'self-signed' | 'none',
  dataDir: string,
  hostname: string,
  log: (line: string) => void,
): Promise<{ cert: string; key: string } | undefined> {
  if (setting === 'none') return undefined;
  if (setting === 'self-signed') {
    const { cert, key } = await selfSignedCertificate(dataDir, hostname, log);
    return { cert, key };
  }
  return readPair(setting);
}
