// Latency histograms (hdr-histogram-js), recorded in ns inside a role, shipped to main encoded.
import * as hdr from 'hdr-histogram-js';
import type { Percentiles } from './types.js';

export type Histogram = hdr.Histogram;

export function newHistogram(): Histogram {
  // 1 ns .. 60 s at 3 significant digits
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60e9, numberOfSignificantValueDigits: 3 });
}

export const encodeHistogram = (h: Histogram): string => hdr.encodeIntoCompressedBase64(h);

/** Merge encoded histograms (one per vCPU) into one. */
export function mergeHistograms(encoded: string[]): Histogram {
  const out = newHistogram();
  for (const e of encoded) out.add(hdr.decodeFromCompressedBase64(e));
  return out;
}

/** p50 / p99 / max in microseconds (0s for an empty histogram). */
export function percentilesUs(h: Histogram): Percentiles {
  if (h.totalCount === 0) return { p50: 0, p99: 0, max: 0 };
  const us = (ns: number) => Math.round(ns) / 1000;
  return { p50: us(h.getValueAtPercentile(50)), p99: us(h.getValueAtPercentile(99)), max: us(h.maxValue) };
}
