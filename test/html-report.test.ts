// report.html in a real headless Chromium (Debian's package, driven over the DevTools pipe): no
// console error, nothing fetched, and the plotted SVG marks match the data points: one dot per
// configuration in a sweep's line plots, one bar per pair in the comparisons, the papers' references
// as crosses. The pages come from stand-in runs, so this test is about the report, not the runs.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINE_RATE_PAPER } from '../src/lab/experiments/line-rate.js';
import { chromiumPath, launch, type Browser, type Page } from './helpers/chromium.js';
import { cli, fakeReport, readResults } from './helpers/sweep.js';

const binary = chromiumPath();
if (!binary) console.warn('html-report.test: SKIPPED: no Chromium binary (/usr/bin/chromium; .ci/run installs Debian\'s chromium package)');

interface PlotMarks {
  kind: string;
  points: number;
  refs: number;
  dots: number;
  bars: number;
  crosses: number;
  ci: number;
}

const MARKS = `[...document.querySelectorAll('.plot')].map((d) => ({
  kind: d.dataset.kind, points: Number(d.dataset.points), refs: Number(d.dataset.references),
  dots: d.querySelectorAll('.lab-data circle').length, bars: d.querySelectorAll('.lab-data rect').length,
  crosses: d.querySelectorAll('.lab-ref path').length, ci: d.querySelectorAll('.lab-ci line').length }))`;

const dir = mkdtempSync(join(tmpdir(), 'viommu-html-'));
let browser: Browser;
const open = (file: string): Promise<Page> => browser.open(file);

async function expectClean(p: Page): Promise<void> {
  expect(p.errors).toEqual([]);
  // self-contained: nothing was fetched, nothing refers outside the file
  expect(await p.evaluate<number>("performance.getEntriesByType('resource').length")).toBe(0);
  expect(await p.evaluate<number>("document.querySelectorAll('script[src], link[rel=stylesheet], img[src^=http]').length")).toBe(0);
}

describe.skipIf(!binary)('report.html in headless Chromium', () => {
  beforeAll(async () => {
    browser = await launch(binary!);
    const sweep = ['sweep', '--policies', 'coiommu/trap,static/trap', '--vary', 'reuse-distance=16,64,256', '--trials', '3', '--no-progress', '--out', join(dir, 'sweep')];
    expect((await cli(sweep, async (c) => fakeReport(c))).code).toBe(0);
    const exp = ['experiment', 'line-rate', '--quick', '--no-progress', '--out', join(dir, 'line-rate')];
    expect((await cli(exp, async (c) => fakeReport(c))).code).toBe(0);
    const cmp = ['compare', '--policies', 'coiommu/trap,coiommu/sidecore,static/trap', '--trials', '2', '--no-progress', '--html', join(dir, 'compare.html')];
    expect((await cli(cmp, async (c) => fakeReport(c))).code).toBe(0);
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("a sweep's line plots: one dot per configuration, error bars from the trials", async () => {
    const p = await open(join(dir, 'sweep', 'report.html'));
    await expectClean(p);
    const groups = readResults(join(dir, 'sweep')).groups.length;
    const plots = await p.evaluate<PlotMarks[]>(MARKS);
    expect(plots.length).toBeGreaterThanOrEqual(3);
    for (const m of plots) {
      expect(m.kind).toBe('line');
      expect(m.points).toBe(groups);
      expect(m.dots).toBe(groups);
    }
    expect(plots[0].ci).toBe(groups); // the modeled ops/s differ between trials (seed + k): every dot has a bar
    expect(await p.evaluate<number>("document.querySelectorAll('table').length")).toBeGreaterThanOrEqual(3);
    expect(await p.evaluate<string>('document.body.innerText')).toContain('cost table');
  });

  it("an experiment's grouped bars, with the paper's values as crosses", async () => {
    const p = await open(join(dir, 'line-rate', 'report.html'));
    await expectClean(p);
    const [lineRate] = await p.evaluate<PlotMarks[]>(MARKS);
    expect(lineRate.bars).toBe(9);
    expect(lineRate.crosses).toBe(Object.keys(LINE_RATE_PAPER).length);
    expect(await p.evaluate<string>('document.body.innerText')).toContain('paper 100%');
  });

  it('compare --html: one bar per pair', async () => {
    const p = await open(join(dir, 'compare.html'));
    await expectClean(p);
    const plots = await p.evaluate<PlotMarks[]>(MARKS);
    expect(plots[0].bars).toBe(3);
    expect(plots[0].points).toBe(3);
  });

  it('the check itself: a page with a console error or a fetch is caught', async () => {
    const html = readFileSync(join(dir, 'compare.html'), 'utf8').replace('</body>', "<script>console.error('planted')</script></body>");
    writeFileSync(join(dir, 'planted.html'), html);
    const p = await open(join(dir, 'planted.html'));
    expect(p.errors.join('\n')).toContain('planted');
  });
});
