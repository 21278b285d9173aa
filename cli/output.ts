// Plain, aligned text for people and JSON for scripts, with untrusted text made safe for a terminal.

/** Replaces control characters (escape sequences in a hostile Subject, say) so they cannot drive the terminal. */
export function clean(text: string | null | undefined): string {
  // eslint-disable-next-line no-control-regex
  return (text ?? '').replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Rows as columns separated by two spaces, each as wide as its widest cell; the last column is not padded. */
export function aligned(rows: string[][], indent = ''): string {
  // A loop, not Math.max(...spread): a roster of a million rows would overflow the call stack.
  const widths: number[] = [];
  for (const r of rows) r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((r) => indent + r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n') + '\n';
}

/** A table with a header row. */
export function table(headers: string[], rows: string[][]): string {
  return aligned([headers, ...rows]);
}

/** Label and value lines, the labels aligned, indented under a heading. */
export function fields(rows: [string, string][], indent = '  '): string {
  return aligned(rows, indent);
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

/** An ISO time as people read it in a table: 2026-01-05 10:11:12Z. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

export function count(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}
