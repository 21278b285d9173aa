// A small authoritative DNS server on loopback UDP that serves the zones a test gives it, and a silent one
// that never answers: the far end of sender authentication in tests.
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

/** Records by owner name: TXT values (long ones are split into 255-byte strings) and A addresses. */
export interface Zone {
  [name: string]: { TXT?: string[]; A?: string[] };
}

export interface DnsServer {
  /** `127.0.0.1:port`, as LISTFLOW_DNS_SERVERS takes it. */
  address: string;
  port: number;
  zone: Zone;
  /** Every question asked, as "TYPE name". */
  queries: string[];
  close(): Promise<void>;
}

/** TXT strings are at most 255 bytes each; a DKIM key is longer and is sent as several (RFC 6376 §3.6.2.2). */
function txtStrings(value: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < value.length; i += 255) out.push(value.slice(i, i + 255));
  return out.length ? out : [''];
}

function answer(zone: Zone, query: dnsPacket.DecodedPacket): Buffer {
  const question = query.questions?.[0];
  const name = (question?.name ?? '').toLowerCase().replace(/\.$/, '');
  const records = zone[name];
  const answers: dnsPacket.Answer[] = [];
  if (question && records) {
    if (question.type === 'TXT') {
      for (const value of records.TXT ?? []) answers.push({ type: 'TXT', name: question.name, ttl: 60, class: 'IN', data: txtStrings(value) });
    } else if (question.type === 'A') {
      for (const ip of records.A ?? []) answers.push({ type: 'A', name: question.name, ttl: 60, class: 'IN', data: ip });
    }
  }
  return dnsPacket.encode({
    type: 'response',
    id: query.id ?? 0,
    // Authoritative; NXDOMAIN for a name the zone lacks, an empty NOERROR (NODATA) for a type it lacks.
    flags: dnsPacket.AUTHORITATIVE_ANSWER | (records ? 0 : 3),
    questions: query.questions ?? [],
    answers,
  });
}

async function bind(onMessage: (socket: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo) => void): Promise<{ socket: dgram.Socket; port: number }> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => onMessage(socket, msg, rinfo));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  return { socket, port: socket.address().port };
}

export async function startDnsServer(zone: Zone): Promise<DnsServer> {
  const queries: string[] = [];
  const { socket, port } = await bind((s, msg, rinfo) => {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return; // not DNS: a real server would drop it too
    }
    for (const q of query.questions ?? []) queries.push(`${q.type} ${q.name.toLowerCase()}`);
    s.send(answer(zone, query), rinfo.port, rinfo.address);
  });
  return {
    address: `127.0.0.1:${port}`,
    port,
    zone,
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** A DNS server that takes every question and never answers: a dead resolver as a sender's MX would see it. */
export async function startSilentDnsServer(): Promise<DnsServer> {
  const queries: string[] = [];
  const { socket, port } = await bind((_s, msg) => {
    try {
      for (const q of dnsPacket.decode(msg).questions ?? []) queries.push(`${q.type} ${q.name.toLowerCase()}`);
    } catch {
      // ignored: it answers nothing either way
    }
  });
  return {
    address: `127.0.0.1:${port}`,
    port,
    zone: {},
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
