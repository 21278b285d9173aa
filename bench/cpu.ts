// CPU accounting from /proc: where the machine's CPU went during a run (listflow, PostgreSQL, Temporal, the sink, others).
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

const TICKS_PER_SECOND = 100;

interface ProcTicks {
  comm: string;
  ticks: number;
}

function readProc(pid: number): ProcTicks | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(close + 2).split(' ');
    return { comm: stat.slice(open + 1, close), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

function allProcs(): Map<number, ProcTicks> {
  const out = new Map<number, ProcTicks>();
  let names: string[] = [];
  try {
    names = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const p = readProc(Number(name));
    if (p) out.set(Number(name), p);
  }
  return out;
}

function machineTicks(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: v.reduce((a, b) => a + b, 0) - idle, total: v.reduce((a, b) => a + b, 0) };
  } catch {
    return { busy: 0, total: 0 };
  }
}

export interface CpuBreakdown {
  /** CPU seconds by who used them: the listflow host, postgres, temporal, smtp-sink, bench, other. */
  seconds: Record<string, number>;
  /** Wall-clock seconds of the window. */
  wall: number;
  /** Fraction (0–1) of all cores busy during the window, whoever used them. */
  machineBusy: number;
}

export interface CpuWindow {
  hostSeconds(): number;
  stop(): CpuBreakdown;
}

/** Starts counting; `hostPid` is the listflow process. Processes are grouped by command name. */
export function startCpuWindow(hostPid: number): CpuWindow {
  const started = performance.now();
  const before = allProcs();
  const m0 = machineTicks();
  const h0 = readProc(hostPid)?.ticks ?? 0;
  const category = (pid: number, comm: string): string => {
    if (pid === hostPid) return 'listflow';
    if (pid === process.pid) return 'bench';
    if (comm === 'postgres' || comm === 'temporal' || comm === 'smtp-sink' || comm === 'smtp-source') return comm;
    return 'other';
  };
  return {
    hostSeconds: () => ((readProc(hostPid)?.ticks ?? h0) - h0) / TICKS_PER_SECOND,
    stop() {
      const after = allProcs();
      const m1 = machineTicks();
      const seconds: Record<string, number> = { listflow: 0, postgres: 0, temporal: 0, 'smtp-sink': 0, 'smtp-source': 0, bench: 0, other: 0 };
      for (const [pid, p] of after) {
        const d = p.ticks - (before.get(pid)?.ticks ?? 0);
        if (d > 0) seconds[category(pid, p.comm)] = (seconds[category(pid, p.comm)] ?? 0) + d / TICKS_PER_SECOND;
      }
      // Processes that ended during the window are not in `after`: what the machine counted but nobody
      // above claims is theirs goes to "other".
      const busy = (m1.busy - m0.busy) / TICKS_PER_SECOND;
      const claimed = Object.values(seconds).reduce((a, b) => a + b, 0);
      if (busy > claimed) seconds.other = (seconds.other ?? 0) + (busy - claimed);
      return {
        seconds,
        wall: (performance.now() - started) / 1000,
        machineBusy: m1.total > m0.total ? (m1.busy - m0.busy) / (m1.total - m0.total) : 0,
      };
    },
  };
}

/** "listflow 2.5 s, postgres 3.1 s, …" — the largest first, leaving out what is under 0.05 s. */
export function formatBreakdown(b: CpuBreakdown): string {
  return Object.entries(b.seconds)
    .filter(([, s]) => s >= 0.05)
    .sort((a, c) => c[1] - a[1])
    .map(([who, s]) => `${who} ${s.toFixed(1)}`)
    .join(', ');
}

/** The load average now, for the header of a run (a busy machine makes every figure lower). */
export function loadNote(): string {
  const [one, five] = os.loadavg();
  return `load average ${one?.toFixed(2)} (1 min), ${five?.toFixed(2)} (5 min) on ${os.cpus().length} cores`;
}
