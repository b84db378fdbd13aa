/**
 * The pool chart as a real renderer draws it: librsvg's rsvg-convert (Debian's librsvg2-bin, which
 * scripts/setup.sh installs) turns the SVG into a PNG, and the assertions read the pixels. Each
 * series is found by its color, where the data say it should be.
 */
import { spawnSync } from 'node:child_process';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { countTicks } from '../../src/sim/chart-ticks.js';
import { POOL_CHART_COLORS, poolChartLayout, type PoolChartSeries, type Rect } from '../../src/sim/pool-chart-layout.js';
import { renderPoolChart, type PoolChartPolicy } from '../../src/sim/pool-chart.js';

function rsvgMissingReason(): string | undefined {
  const probe = spawnSync('rsvg-convert', ['--version'], { encoding: 'utf8' });
  if (probe.error === undefined && probe.status === 0) return undefined;
  return 'pool chart rendering test skipped: rsvg-convert not found (scripts/setup.sh installs it; Debian: apt-get install librsvg2-bin)';
}

const missing = rsvgMissingReason();
if (missing !== undefined) console.warn(missing);

function render(svg: string): PNG {
  const out = spawnSync('rsvg-convert', ['--format', 'png'], { input: svg, maxBuffer: 64 * 1024 * 1024 });
  if (out.status !== 0) throw new Error(`rsvg-convert failed (${out.status}): ${out.stderr.toString()}`);
  return PNG.sync.read(out.stdout);
}

function rgb(hex: string): [number, number, number] {
  return [parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16)];
}

/** Rows (y) of the pixels of column x, within [top, bottom], whose color is `hex` (give or take antialiasing's last bits). */
function rowsOf(png: PNG, hex: string, x: number, top: number, bottom: number, tolerance = 6): number[] {
  const [r, g, b] = rgb(hex);
  const rows: number[] = [];
  for (let y = Math.max(0, top); y <= Math.min(png.height - 1, bottom); y++) {
    const i = (png.width * y + x) * 4;
    const d = Math.abs(png.data[i]! - r) + Math.abs(png.data[i + 1]! - g) + Math.abs(png.data[i + 2]! - b);
    if (d <= tolerance && png.data[i + 3] === 255) rows.push(y);
  }
  return rows;
}

function countIn(png: PNG, hex: string, rect: Rect): number {
  let n = 0;
  for (let x = Math.floor(rect.x); x < rect.x + rect.width; x++) n += rowsOf(png, hex, x, Math.floor(rect.y), Math.ceil(rect.y + rect.height) - 1, 0).length;
  return n;
}

/** Where a series of `hex` sits over the columns [from, to): the share of columns holding it, and its mean row. */
function seriesIn(png: PNG, hex: string, rect: Rect, from: number, to: number): { share: number; meanRow: number } {
  let columns = 0;
  let sum = 0;
  let count = 0;
  for (let x = Math.round(from); x < Math.round(to); x++) {
    const rows = rowsOf(png, hex, x, Math.floor(rect.y) - 3, Math.ceil(rect.y + rect.height) + 3);
    if (rows.length > 0) columns += 1;
    for (const y of rows) sum += y;
    count += rows.length;
  }
  return { share: columns / Math.max(1, Math.round(to) - Math.round(from)), meanRow: count === 0 ? NaN : sum / count };
}

function expectRow(actual: number, expected: number): void {
  expect(Math.abs(actual - expected), `row ${actual} for ${expected}`).toBeLessThan(2.5);
}

const HIGH = 90;
const FREE = 5;
const COOLING = 3;
const SAMPLES = 720;

/**
 * Two hours at one sample every 10 s: pods (all assigned) at `low` for the first hour and `high`
 * for the second, FREE free addresses, `cooling` cooling down; 20 calls made when pods reach HIGH.
 */
function stepPolicy(name: string, low: number, high: number, cooling = 0): PoolChartPolicy {
  const samples = Array.from({ length: SAMPLES }, (_, i) => {
    const pods = i < SAMPLES / 2 ? low : high;
    return { atMs: i * 10_000, pods, assigned: pods, free: FREE, cooling, interfaces: pods > 0 ? 7 : 1 };
  });
  const calls = samples.map((s, i) => ({ atMs: s.atMs, mutating: (i < SAMPLES / 2 ? low : high) === HIGH ? 20 : 0 }));
  return { name, summary: `pods ${low} → ${high}`, samples, calls };
}

describe.skipIf(missing !== undefined)('pool chart rendered by rsvg-convert', () => {
  const policies = [stepPolicy('step up', 0, HIGH), stepPolicy('step down', HIGH, 0), stepPolicy('flat', HIGH / 2, HIGH / 2, COOLING)];
  const layout = poolChartLayout(policies.length);
  let png: PNG;
  beforeAll(() => {
    png = render(renderPoolChart({ title: 'Warm pool: three synthetic policies', policies }));
  });
  const countMax = countTicks(HIGH + FREE).max;
  const rowOf = (main: Rect, value: number): number => main.y + main.height * (1 - value / countMax);
  const halves = (rect: Rect): [[number, number], [number, number]] => [
    [rect.x + 4, rect.x + rect.width / 2 - 6],
    [rect.x + rect.width / 2 + 6, rect.x + rect.width - 4],
  ];

  it('is as large as the layout says', () => {
    expect([png.width, png.height]).toEqual([layout.width, layout.height]);
  });

  it('draws every series color in the legend', () => {
    for (const [series, color] of Object.entries(POOL_CHART_COLORS)) {
      expect(countIn(png, color, layout.legend), `${series} ${color} in the legend`).toBeGreaterThanOrEqual(100);
    }
  });

  it.each([
    [0, 0, HIGH],
    [1, HIGH, 0],
    [2, HIGH / 2, HIGH / 2],
  ])('panel %d: pods sit at %d in the left half and %d in the right half', (panelIndex, left, right) => {
    const { main } = layout.panels[panelIndex]!;
    const [[l0, l1], [r0, r1]] = halves(main);
    const before = seriesIn(png, POOL_CHART_COLORS.pods, main, l0, l1);
    const after = seriesIn(png, POOL_CHART_COLORS.pods, main, r0, r1);
    expect(before.share).toBeGreaterThan(0.95);
    expect(after.share).toBeGreaterThan(0.95);
    expectRow(before.meanRow, rowOf(main, left));
    expectRow(after.meanRow, rowOf(main, right));
  });

  /** Pixels of `series` along the row of `value` between x0 and x1, as a share of them. */
  const shareOnRow = (series: PoolChartSeries, main: Rect, value: number, x0: number, x1: number): number =>
    countIn(png, POOL_CHART_COLORS[series], { x: x0, y: Math.round(rowOf(main, value)), width: x1 - x0, height: 1 }) / (x1 - x0);

  it('fills the assigned addresses up to their count, and no higher', () => {
    const { main } = layout.panels[0]!;
    const [[l0, l1], [r0, r1]] = halves(main);
    expect(shareOnRow('assigned', main, HIGH / 2, l0, l1)).toBe(0);
    expect(shareOnRow('assigned', main, HIGH / 2, r0, r1)).toBeGreaterThan(0.95);
    expect(shareOnRow('free', main, HIGH + FREE / 2, r0, r1)).toBeGreaterThan(0.95);
    expect(shareOnRow('free', main, FREE / 2, l0, l1)).toBeGreaterThan(0.95);
  });

  it('stacks free over assigned and cooling over free', () => {
    const { main } = layout.panels[2]!;
    const [x0, x1] = [main.x + 4, main.x + main.width - 4];
    const assigned = HIGH / 2;
    expect(shareOnRow('assigned', main, assigned / 2, x0, x1)).toBeGreaterThan(0.95);
    expect(shareOnRow('free', main, assigned + FREE / 2, x0, x1)).toBeGreaterThan(0.95);
    expect(shareOnRow('cooling', main, assigned + FREE + COOLING / 2, x0, x1)).toBeGreaterThan(0.95);
    expect(shareOnRow('cooling', main, assigned + FREE + COOLING + 2, x0, x1)).toBe(0);
  });

  it('draws the cumulative calls in the strip under the panel that made them', () => {
    const [up, down, flat] = layout.panels.map((p) => p.strip);
    const [[l0, l1], [r0, r1]] = halves(up!);
    const bottom = (s: Rect): number => s.y + s.height;
    expectRow(seriesIn(png, POOL_CHART_COLORS.calls, up!, l0, l1).meanRow, bottom(up!));
    expectRow(seriesIn(png, POOL_CHART_COLORS.calls, up!, r0, r1).meanRow, up!.y);
    expectRow(seriesIn(png, POOL_CHART_COLORS.calls, down!, l0, l1).meanRow, down!.y);
    expectRow(seriesIn(png, POOL_CHART_COLORS.calls, down!, r0, r1).meanRow, bottom(down!));
    expectRow(seriesIn(png, POOL_CHART_COLORS.calls, flat!, l0, r1).meanRow, bottom(flat!));
    for (const strip of [up!, down!, flat!]) expect(countIn(png, POOL_CHART_COLORS.interfaces, strip)).toBeGreaterThan(50);
  });

  it('keeps each panel\'s series inside its own panel', () => {
    const series: PoolChartSeries[] = ['pods', 'assigned', 'free', 'cooling'];
    const inside = (y: number): boolean => layout.panels.some(({ main }) => y >= main.y - 3 && y <= main.y + main.height + 3);
    for (const name of series) {
      let outside = 0;
      for (let x = 0; x < png.width; x++) {
        for (const y of rowsOf(png, POOL_CHART_COLORS[name], x, layout.legend.y + layout.legend.height + 1, png.height - 1)) if (!inside(y)) outside += 1;
      }
      expect(outside, `${name} pixels outside every panel`).toBe(0);
    }
  });

  it('refuses a document that is not well-formed (so a render is also a parse)', () => {
    expect(() => render('<svg xmlns="http://www.w3.org/2000/svg"><g></svg>')).toThrow(/rsvg-convert failed/);
  });
});
