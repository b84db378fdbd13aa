import { describe, expect, it } from 'vitest';
import { downsampleMinMax } from '../../src/sim/chart-downsample.js';
import { escapeXml } from '../../src/sim/chart-svg.js';
import { countTicks, formatCount, formatDuration, timeTicks } from '../../src/sim/chart-ticks.js';
import { POOL_CHART_COLORS, poolChartLayout } from '../../src/sim/pool-chart-layout.js';
import { renderPoolChart, type PoolChartPolicy } from '../../src/sim/pool-chart.js';
import { parseXml, xmlElements, xmlText } from '../support/xml-parse.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** A policy whose every series is `value(i)` at sample i (every 10 s). */
function policy(name: string, count: number, value: (i: number) => number, summary?: string): PoolChartPolicy {
  const samples = Array.from({ length: count }, (_, i) => {
    const v = value(i);
    return { atMs: i * 10_000, pods: v, assigned: v, free: 2, cooling: 1, interfaces: 1 + Math.floor(v / 14) };
  });
  const calls = samples.map((s, i) => ({ atMs: s.atMs, mutating: Math.floor(i / 100) }));
  return summary === undefined ? { name, samples, calls } : { name, summary, samples, calls };
}

describe('count ticks', () => {
  it.each([
    [0, 5, 1, [0, 1]],
    [3, 5, 1, [0, 1, 2, 3]],
    [7, 5, 2, [0, 2, 4, 6, 8]],
    [100, 5, 20, [0, 20, 40, 60, 80, 100]],
    [101, 5, 50, [0, 50, 100, 150]],
    [1234, 4, 500, [0, 500, 1000, 1500]],
    [NaN, 5, 1, [0, 1]],
  ])('max %d, at most %d ticks: every %d', (max, maxTicks, step, values) => {
    const ticks = countTicks(max, maxTicks);
    expect(ticks.step).toBe(step);
    expect(ticks.values).toEqual(values);
    expect(ticks.max).toBe(values[values.length - 1]);
  });
});

describe('time ticks', () => {
  it.each([
    [0, 90_000, 8, 15_000, ['0', '15s', '30s', '45s', '1m', '1m15s', '1m30s']],
    [0, HOUR, 8, 10 * MINUTE, ['0', '10m', '20m', '30m', '40m', '50m', '1h']],
    [0, 139 * HOUR, 9, 24 * HOUR, ['0', '24h', '48h', '72h', '96h', '120h']],
    [0, 5 * HOUR + 7 * MINUTE, 11, 30 * MINUTE, ['0', '30m', '1h', '1h30m', '2h', '2h30m', '3h', '3h30m', '4h', '4h30m', '5h']],
    [0, 5 * HOUR + 7 * MINUTE, 10, HOUR, ['0', '1h', '2h', '3h', '4h', '5h']],
    [-5 * MINUTE, 20 * MINUTE, 5, 5 * MINUTE, ['-5m', '0', '5m', '10m', '15m', '20m']],
  ])('%d to %d ms, at most %d ticks: every %d ms', (from, to, maxTicks, step, labels) => {
    const ticks = timeTicks(from, to, maxTicks);
    expect(ticks.step).toBe(step);
    expect(ticks.values.map(formatDuration)).toEqual(labels);
  });

  it.each([[0, '0'], [1_000, '1s'], [90_000, '1m30s'], [HOUR + 30 * MINUTE, '1h30m'], [36 * HOUR, '36h'], [-MINUTE, '-1m']])('formats %d ms as %s', (ms, label) => {
    expect(formatDuration(ms)).toBe(label);
  });

  it.each([[950, '950'], [9999, '9999'], [12_000, '12k'], [12_500, '12.5k'], [1_200_000, '1.2M']])('formats count %d as %s', (n, label) => {
    expect(formatCount(n)).toBe(label);
  });
});

describe('downsampling', () => {
  const range = { from: 0, to: 50_000, columns: 800 };

  it('keeps every point when there are fewer points than pixel columns', () => {
    const points = Array.from({ length: 100 }, (_, i) => ({ x: i * 500, y: i % 7 }));
    expect(downsampleMinMax(points, range)).toEqual(points);
  });

  it('keeps a one-sample peak and a one-sample dip among 50k samples, in time order', () => {
    const points = Array.from({ length: 50_000 }, (_, i) => ({ x: i, y: i === 31_337 ? 1000 : i === 7_000 ? -5 : 10 + (i % 3) }));
    const out = downsampleMinMax(points, range);
    expect(out.length).toBeLessThanOrEqual(2 * range.columns);
    expect(out).toContainEqual({ x: 31_337, y: 1000 });
    expect(out).toContainEqual({ x: 7_000, y: -5 });
    expect(Math.max(...out.map((p) => p.y))).toBe(1000);
    expect(out.map((p) => p.x)).toEqual([...out.map((p) => p.x)].sort((a, b) => a - b));
  });

  it('keeps a column\'s max before its min when the max came first', () => {
    const out = downsampleMinMax([{ x: 0, y: 5 }, { x: 1, y: 9 }, { x: 2, y: 1 }, { x: 3, y: 4 }], { from: 0, to: 10, columns: 1 });
    expect(out).toEqual([{ x: 1, y: 9 }, { x: 2, y: 1 }]);
  });

  it('keeps only the highest point of each column for an area\'s outline', () => {
    const points = [{ x: 0, y: 5 }, { x: 1, y: 9 }, { x: 2, y: 1 }, { x: 10, y: 2 }, { x: 11, y: 7 }];
    expect(downsampleMinMax(points, { from: 0, to: 20, columns: 2, upperOnly: true })).toEqual([{ x: 1, y: 9 }, { x: 11, y: 7 }]);
  });

  it('keeps one point for a flat column and drops points that are not numbers', () => {
    const out = downsampleMinMax([{ x: 0, y: 3 }, { x: 1, y: NaN }, { x: 2, y: 3 }, { x: Infinity, y: 1 }], { from: 0, to: 10, columns: 1 });
    expect(out).toEqual([{ x: 0, y: 3 }]);
  });
});

describe('XML escaping', () => {
  it.each([
    ['plain', 'plain'],
    ['a < b & c > d', 'a &lt; b &amp; c &gt; d'],
    [`"quoted" 'single'`, '&quot;quoted&quot; &apos;single&apos;'],
    ['bell\u0007 and NUL\u0000', 'bell\uFFFD and NUL\uFFFD'],
    ['lone \uD800 surrogate', 'lone \uFFFD surrogate'],
    ['tab\tnewline\n emoji 🚀 é', 'tab\tnewline\n emoji 🚀 é'],
  ])('%j', (raw, escaped) => {
    expect(escapeXml(raw)).toBe(escaped);
  });
});

describe('the test XML parser', () => {
  it.each([
    ['<a><b></a>', /expected <\/b>/],
    ['<a x="1" x="2"/>', /duplicate attribute/],
    ['<a x=1/>', /quoted attribute/],
    ['<a>1 & 2</a>', /bare &/],
    ['<a>&nbsp;</a>', /unknown reference/],
    ['<a x="<"/>', /must be escaped/],
    ['<a/><b/>', /after the root/],
    ['<a>\u0001</a>', /forbids/],
  ])('refuses %j', (doc, why) => {
    expect(() => parseXml(doc)).toThrow(why);
  });

  it('reads text and attributes back unescaped', () => {
    const root = parseXml('<?xml version="1.0" encoding="UTF-8"?>\n<a k="&quot;&#x41;&#66;">x &lt; y<b/>!</a>');
    expect(root.attributes).toEqual({ k: '"AB' });
    expect(xmlText(root)).toBe('x < y!');
  });
});

describe('renderPoolChart', () => {
  const nasty = 'trace "</svg><script>alert(1)</script>" & \u0001 <m5.xlarge>';

  it('writes one well-formed, self-contained SVG document, every text escaped', () => {
    const svg = renderPoolChart({
      title: nasty,
      policies: [policy('WARM_IP_TARGET=<5>&MINIMUM', 400, (i) => (i < 200 ? 3 : 40), 'pods waited: 2 · "idle" <1.5> h'), policy('adaptive', 400, () => 10)],
    });
    const root = parseXml(svg);
    expect(root.name).toBe('svg');
    expect(root.attributes.xmlns).toBe('http://www.w3.org/2000/svg');
    const elements = xmlElements(root);
    expect(elements.map((e) => e.name)).not.toContain('script');
    expect(elements.map((e) => e.name)).not.toContain('style');
    expect(elements.map((e) => e.name)).not.toContain('image');
    expect(elements.flatMap((e) => Object.keys(e.attributes))).not.toContain('href');
    for (const e of elements) for (const v of Object.values(e.attributes)) if (v.includes('url(')) expect(v).toMatch(/^url\(#[-\w]+\)$/);
    const title = elements.find((e) => e.name === 'title');
    expect(title && xmlText(title)).toBe(nasty.replace('\u0001', '\uFFFD'));
    const texts = elements.filter((e) => e.name === 'text').map(xmlText);
    // The name, then the summary in a <tspan> set apart by dx.
    expect(texts).toContain('WARM_IP_TARGET=<5>&MINIMUM' + 'pods waited: 2 · "idle" <1.5> h');
    expect(texts).toContain('adaptive');
    for (const color of Object.values(POOL_CHART_COLORS)) expect(svg).toContain(color);
    expect(elements.filter((e) => e.name === 'g' && /^panel-\d+$/.test(e.attributes.id ?? ''))).toHaveLength(2);
  });

  it('stays small for 50k samples per policy, 4 policies', () => {
    let seed = 7;
    const noise = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const policies = [0, 1, 2, 3].map((k) => policy(`policy ${k}`, 50_000, (i) => Math.round(40 + 30 * Math.sin(i / 2000) + noise() * 10 + k)));
    const svg = renderPoolChart({ title: 'big', policies });
    expect(() => parseXml(svg)).not.toThrow();
    expect(Buffer.byteLength(svg)).toBeLessThan(1_000_000);
  });

  it('renders no policy, and policies without samples, as a valid document', () => {
    expect(xmlText(parseXml(renderPoolChart({ title: 'empty', policies: [] })))).toContain('No policy to show.');
    const svg = renderPoolChart({ title: 'none', policies: [{ name: 'idle', samples: [], calls: [] }] });
    expect(xmlText(parseXml(svg))).toContain('no samples');
  });

  it('sorts samples that arrive out of order', () => {
    const p = policy('p', 50, (i) => i);
    const shuffled = { ...p, samples: [...p.samples].reverse(), calls: [...p.calls].reverse() };
    expect(renderPoolChart({ title: 't', policies: [shuffled] })).toBe(renderPoolChart({ title: 't', policies: [p] }));
  });

  it('lays panels out top to bottom, inside the document', () => {
    const layout = poolChartLayout(4, 960);
    expect(layout.panels).toHaveLength(4);
    for (let i = 1; i < layout.panels.length; i++) expect(layout.panels[i]!.main.y).toBeGreaterThan(layout.panels[i - 1]!.strip.y + layout.panels[i - 1]!.strip.height);
    const last = layout.panels[3]!;
    expect(last.strip.y + last.strip.height).toBeLessThan(layout.height);
    expect(layout.legend.y + layout.legend.height).toBeLessThan(layout.panels[0]!.main.y);
  });
});
