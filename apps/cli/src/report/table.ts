/** A column of a terminal table: header and alignment. */
export interface Column {
  header: string;
  align?: 'left' | 'right';
}

/** Renders rows as an aligned plain-text table with a header rule. */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const cell = (s: string, i: number) =>
    columns[i]!.align === 'right' ? s.padStart(widths[i]!) : s.padEnd(widths[i]!);
  const line = (cells: readonly string[]) =>
    columns
      .map((_, i) => cell(cells[i] ?? '', i))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join(
    '\n',
  );
}

/** A perplexity with 4 significant decimals, or `-`. */
export function fmtPpl(v: number | null | undefined): string {
  if (v === null || v === undefined) return '-';
  if (!Number.isFinite(v)) return String(v);
  return v >= 1000 ? v.toExponential(3) : v.toFixed(3);
}

/** A fraction as a percentage with one decimal. */
export function fmtPct(v: number): string {
  return `${(v * 100).toFixed(1)}%`;
}

/** A small or large number in short scientific form. */
export function fmtSci(v: number): string {
  if (v === 0) return '0';
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 0.01 && Math.abs(v) < 1e4 ? v.toFixed(4) : v.toExponential(2);
}

/** A parameter count as `1.23M` / `4.5K`. */
export function fmtCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}
