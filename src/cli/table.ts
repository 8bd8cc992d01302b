// Plain aligned columns, as kubectl prints them (tabwriter: cells padded to
// at least 10 characters, 3 spaces between columns, no colours).

const MIN_WIDTH = 10;
const PADDING = 3;

const cellWidth = (s: string): number => [...s].length;
const pad = (s: string, width: number): string => s + ' '.repeat(Math.max(0, width - cellWidth(s)));

function widthsOf(rows: readonly (readonly string[])[], columns: number): number[] {
  const widths = new Array<number>(columns).fill(MIN_WIDTH);
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? MIN_WIDTH, cellWidth(cell) + PADDING)));
  return widths;
}

function line(row: readonly string[], widths: readonly number[]): string {
  return row
    .map((cell, i) => (i === row.length - 1 ? cell : pad(cell, widths[i] ?? MIN_WIDTH)))
    .join('')
    .trimEnd();
}

/** Header and rows as aligned text, one line each, ending in a newline. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [headers, ...rows];
  const widths = widthsOf(all, headers.length);
  return all.map((r) => line(r, widths) + '\n').join('');
}

/**
 * For `get -w` and `events -w`: the header once, then rows as they come.
 * Columns keep the widths they had and only grow, so the table stays aligned
 * as far as it can without reprinting.
 */
export class TablePrinter {
  private widths: number[] | undefined;
  constructor(
    private readonly headers: readonly string[],
    private readonly write: (text: string) => void,
  ) {}

  print(rows: readonly (readonly string[])[]): void {
    if (rows.length === 0) return;
    const first = this.widths === undefined;
    const batch = first ? [this.headers, ...rows] : rows;
    const fresh = widthsOf(batch, this.headers.length);
    this.widths = this.widths ? this.widths.map((w, i) => Math.max(w, fresh[i] ?? 0)) : fresh;
    this.write(batch.map((r) => line(r, this.widths!) + '\n').join(''));
  }
}
