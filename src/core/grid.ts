// Plain-text tables: rows under a header, for reports, benchmarks, explorer histograms and traces.

/** Lays out rows under a header; columns listed in `right` are right-aligned. */
export function grid(header: string[], rows: string[][], right: Set<number> = new Set()): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
