// When a digest period ends and which volume an issue belongs to: pure date arithmetic the digest workflow
// runs (deterministic; no imports, so the workflow bundle can take it).

export type DigestPeriodName = 'daily' | 'weekly' | 'monthly';
export type VolumeFrequencyName = 'yearly' | 'quarterly' | 'monthly' | 'weekly' | 'daily';

const DAY_MS = 86_400_000;

/** How long one digest period lasts; monthly is 30 days, so every period is a plain durable timer. */
export function periodMs(period: DigestPeriodName): number {
  return { daily: 1, weekly: 7, monthly: 30 }[period] * DAY_MS;
}

/** The calendar span (UTC) a moment falls in; a new span starts a new volume. */
export function volumeKey(ms: number, frequency: VolumeFrequencyName): string {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  switch (frequency) {
    case 'yearly':
      return `${y}`;
    case 'quarterly':
      return `${y}-Q${Math.floor(m / 3) + 1}`;
    case 'monthly':
      return `${y}-${m + 1}`;
    case 'weekly':
      // Weeks start on Monday: 1970-01-01 was a Thursday, three days after one.
      return `w${Math.floor((Math.floor(ms / DAY_MS) + 3) / 7)}`;
    case 'daily':
      return `d${Math.floor(ms / DAY_MS)}`;
  }
}

export interface Numbering {
  volume: number;
  number: number;
  /** volumeKey of the issue, to tell when the next one starts a new volume. */
  key: string;
}

/** The number of the issue sent at `ms`, after `last` (null: the list's first issue). */
export function nextNumbering(last: Numbering | null, ms: number, frequency: VolumeFrequencyName): Numbering {
  const key = volumeKey(ms, frequency);
  if (!last) return { volume: 1, number: 1, key };
  if (last.key !== key) return { volume: last.volume + 1, number: 1, key };
  return { volume: last.volume, number: last.number + 1, key };
}
