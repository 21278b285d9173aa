// Prints a benchmark's figures as an aligned text table (also valid Markdown).
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export function printTable(title: string, headers: string[], rows: string[][], notes: string[] = []): void {
  console.log(`\n### ${title}\n`);
  console.log(formatTable(headers, rows));
  if (notes.length > 0) console.log(`\n${notes.join('\n')}`);
}

/** A number with thousands separators and `digits` decimals. */
export function num(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** "met" or "missed by N%" for a figure against its target. */
export function verdict(value: number, target: number, higherIsBetter: boolean): string {
  const ok = higherIsBetter ? value >= target : value <= target;
  if (ok) return 'met';
  const by = higherIsBetter ? (1 - value / target) * 100 : (value / target - 1) * 100;
  return `missed by ${by.toFixed(0)}%`;
}
