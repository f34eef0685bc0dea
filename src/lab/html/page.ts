// The HTML report: one self-contained file (styles inline, plots as inline SVG, no script, nothing
// fetched), made of titled sections: tables, key/value lists, preformatted text and plots.
import { renderPlot, type PlotSpec } from './plots.js';

export type Section =
  | { heading: string; kind: 'table'; header: string[]; rows: string[][]; note?: string }
  | { heading: string; kind: 'pairs'; pairs: [string, string][] }
  | { heading: string; kind: 'pre'; text: string }
  | { heading: string; kind: 'plot'; plot: PlotSpec };

export interface Page {
  title: string;
  subtitle?: string;
  sections: Section[];
}

export function esc(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

const numeric = (s: string) => /^[-+]?[\d,.]+(\s*±.*)?%?$/.test(s.trim());

function table(header: string[], rows: string[][]): string {
  const th = header.map((h) => `<th>${esc(h)}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map((c) => `<td${numeric(c) ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table>`;
}

function section(s: Section): string {
  const h = `<h2>${esc(s.heading)}</h2>`;
  switch (s.kind) {
    case 'table':
      return `<section>${h}${table(s.header, s.rows)}${s.note ? `<p class="note">${esc(s.note)}</p>` : ''}</section>`;
    case 'pairs':
      return `<section>${h}<dl>${s.pairs.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl></section>`;
    case 'pre':
      return `<section>${h}<pre>${esc(s.text)}</pre></section>`;
    case 'plot':
      return `<section class="figure">${h}${renderPlot(s.plot)}</section>`;
  }
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ccc;padding:2px 6px}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px;font-size:.9em}dt{font-weight:600}
pre{background:#f8f8f8;padding:8px;font-size:.8em;overflow-x:auto}.note{font-size:.85em;color:#555}`;

export function renderPage(p: Page): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(p.title)}</title>
<link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style></head>
<body><h1>${esc(p.title)}</h1>${p.subtitle ? `<p>${esc(p.subtitle)}</p>` : ''}
${p.sections.map(section).join('\n')}
</body></html>
`;
}
