// Plots as inline SVG, rendered at report time with Observable Plot on a server-side DOM (linkedom):
// line plots for sweeps, grouped bars for comparisons, 95% intervals as error bars, the papers'
// reference values as crosses. Every data mark is in a group of class lab-data (one circle or rect
// per data point), the references in lab-ref (one path each), so a browser test can count them.
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';

export interface Datum {
  /** x value (line) or group (bars). */
  x: string | number;
  /** One line, or one bar within each group. */
  series: string;
  y: number;
  lo?: number;
  hi?: number;
}

export interface Reference {
  x: string | number;
  series: string;
  y: number;
  /** Where the value comes from (tooltip). */
  source: string;
}

export interface PlotSpec {
  kind: 'line' | 'bars';
  title: string;
  xLabel: string;
  yLabel: string;
  data: Datum[];
  references?: Reference[];
  /** Log-scaled x (sizes, distances). */
  logX?: boolean;
}

const document = () => parseHTML('<!doctype html><html><body></body></html>').document;

const withCi = (data: Datum[]) => data.filter((d) => d.lo !== undefined && d.hi !== undefined && d.hi > d.lo);

function lineMarks(s: PlotSpec): Plot.Markish[] {
  return [
    Plot.line(s.data, { x: 'x', y: 'y', z: 'series', stroke: 'series', sort: 'x', className: 'lab-line' }),
    Plot.ruleX(withCi(s.data), { x: 'x', y1: 'lo', y2: 'hi', stroke: 'series', className: 'lab-ci' }),
    Plot.dot(s.data, { x: 'x', y: 'y', stroke: 'series', fill: 'series', r: 3, className: 'lab-data', title: (d: Datum) => `${d.series} ${d.x}: ${d.y}` }),
    Plot.dot(s.references ?? [], { x: 'x', y: 'y', symbol: 'times', stroke: 'black', r: 6, strokeWidth: 2, className: 'lab-ref', title: (r: Reference) => `${r.series}: ${r.y} (${r.source})` }),
  ];
}

function barMarks(s: PlotSpec): Plot.Markish[] {
  return [
    Plot.barY(s.data, { fx: 'x', x: 'series', y: 'y', fill: 'series', className: 'lab-data', title: (d: Datum) => `${d.x} ${d.series}: ${d.y}` }),
    Plot.ruleX(withCi(s.data), { fx: 'x', x: 'series', y1: 'lo', y2: 'hi', stroke: 'black', className: 'lab-ci' }),
    Plot.dot(s.references ?? [], { fx: 'x', x: 'series', y: 'y', symbol: 'times', stroke: 'black', r: 6, strokeWidth: 2, className: 'lab-ref', title: (r: Reference) => `${r.series}: ${r.y} (${r.source})` }),
    Plot.ruleY([0]),
  ];
}

/** Distinct values in the order they first come (the table's order, not the alphabet's). */
const unique = <T>(xs: T[]): T[] => [...new Set(xs)];

/** Names are points on the axis; numbers a linear or log scale. */
function xType(s: PlotSpec): 'point' | 'log' | 'linear' {
  if (s.data.some((d) => typeof d.x === 'string')) return 'point';
  return s.logX ? 'log' : 'linear';
}

/** One plot as an HTML figure (a legend and an SVG), with its data counts as attributes. */
export function renderPlot(s: PlotSpec): string {
  const bars = s.kind === 'bars';
  const node = Plot.plot({
    document: document(),
    width: 760,
    height: 360,
    marginBottom: bars ? 60 : 40,
    marginLeft: 70,
    color: { legend: true, type: 'categorical', domain: unique(s.data.map((d) => d.series)) },
    x: bars ? { axis: null, domain: unique(s.data.map((d) => d.series)) } : { label: s.xLabel, type: xType(s) },
    fx: bars ? { label: s.xLabel, domain: unique(s.data.map((d) => d.x)) } : undefined,
    y: { label: s.yLabel, grid: true, zero: true },
    marks: bars ? barMarks(s) : lineMarks(s),
  }) as unknown as { outerHTML: string };
  const refs = s.references?.length ?? 0;
  return `<div class="plot" data-kind="${s.kind}" data-points="${s.data.length}" data-references="${refs}">${node.outerHTML}</div>`;
}
