/**
 * The warm pool over time as one self-contained SVG document (no external fonts, scripts or
 * styles), one panel per policy, for `nativeip tune`. Pure: data in, a string out.
 *
 * Each panel has a main plot (assigned, free and cooling addresses stacked, so the stack's top is
 * every address held and what lies above "assigned" is idle; the pods as a line over them, so a
 * gap between the line and the assigned area is pods waiting; a y scale shared by every panel so
 * policies compare at a glance) and a strip under it (cumulative mutating cloud calls on the left axis,
 * interfaces on the right, both shared too). The time axis is shared. Long series are reduced to
 * the minimum and maximum of each pixel column, so peaks survive and the file stays small.
 */
import { downsampleMinMax, type Point } from './chart-downsample.js';
import { CHAR_WIDTH, areaPath, clipRect, escapeXml, grid, linePath, scaleFor, text, truncate } from './chart-svg.js';
import { countTicks, endTicks, formatDuration, timeTicks } from './chart-ticks.js';
import { FONT_SIZE, LEGEND, LEGEND_ROW, MARGIN_LEFT, MARGIN_RIGHT, POOL_CHART_COLORS, legendItemWidth, poolChartLayout } from './pool-chart-layout.js';

/** One moment of a policy's pool, summed over the trace's nodes. */
export interface PoolChartSample {
  /** Ms since the trace started. */
  readonly atMs: number;
  /** Pods on the nodes, with an address or waiting for one. */
  readonly pods: number;
  /** Addresses assigned to pods. */
  readonly assigned: number;
  /** Addresses held and ready to hand out (not assigned, not cooling down). */
  readonly free: number;
  /** Addresses held but released too recently to hand out. */
  readonly cooling: number;
  /** Network interfaces attached to the nodes. */
  readonly interfaces: number;
}

export interface PoolChartCalls {
  /** Ms since the trace started. */
  readonly atMs: number;
  /** Mutating cloud calls since the trace started: a cumulative count, never per interval. */
  readonly mutating: number;
}

export interface PoolChartPolicy {
  readonly name: string;
  /** One line shown after the name, e.g. "3 pods waited · 12.4 idle address-hours · 41 calls". */
  readonly summary?: string;
  /** In time order (sorted here if not). */
  readonly samples: readonly PoolChartSample[];
  /** In time order (sorted here if not). */
  readonly calls: readonly PoolChartCalls[];
}

export interface PoolChartInput {
  readonly title: string;
  readonly policies: readonly PoolChartPolicy[];
  /** Width of the document in pixels. Default 960. */
  readonly widthPx?: number;
}

function sortedByTime<T extends { readonly atMs: number }>(items: readonly T[]): readonly T[] {
  for (let i = 1; i < items.length; i++) {
    if (items[i]!.atMs < items[i - 1]!.atMs) return [...items].sort((a, b) => a.atMs - b.atMs);
  }
  return items;
}

/** The whole chart: a self-contained SVG document. */
export function renderPoolChart(input: PoolChartInput): string {
  const layout = poolChartLayout(input.policies.length, input.widthPx);
  const policies = input.policies.map((p) => ({ ...p, samples: sortedByTime(p.samples), calls: sortedByTime(p.calls) }));
  let fromMs = 0;
  let toMs = 0;
  let maxCount = 0;
  let maxCalls = 0;
  let maxInterfaces = 0;
  for (const p of policies) {
    for (const s of p.samples) {
      if (!Number.isFinite(s.atMs)) continue;
      fromMs = Math.min(fromMs, s.atMs);
      toMs = Math.max(toMs, s.atMs);
      const held = s.assigned + s.free + s.cooling;
      if (Number.isFinite(held)) maxCount = Math.max(maxCount, s.pods, held);
      if (Number.isFinite(s.interfaces)) maxInterfaces = Math.max(maxInterfaces, s.interfaces);
    }
    for (const c of p.calls) {
      if (!Number.isFinite(c.atMs) || !Number.isFinite(c.mutating)) continue;
      fromMs = Math.min(fromMs, c.atMs);
      toMs = Math.max(toMs, c.atMs);
      maxCalls = Math.max(maxCalls, c.mutating);
    }
  }
  if (toMs <= fromMs) toMs = fromMs + 60_000;
  const plotWidth = layout.width - MARGIN_LEFT - MARGIN_RIGHT;
  const time = timeTicks(fromMs, toMs, Math.max(2, Math.floor(plotWidth / 90)));
  const counts = countTicks(maxCount, 5);
  const callTicks = endTicks(maxCalls);
  const interfaceTicks = endTicks(maxInterfaces);
  const range = { from: fromMs, to: toMs, columns: plotWidth };

  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}" viewBox="0 0 ${layout.width} ${layout.height}" font-family="sans-serif" font-size="${FONT_SIZE}" fill="#222">`,
    `<title>${escapeXml(input.title)}</title>`,
    `<rect x="0" y="0" width="${layout.width}" height="${layout.height}" fill="#ffffff"/>`,
    text(MARGIN_LEFT, 22, truncate(input.title, layout.width - MARGIN_LEFT, 15), 'font-size="15" font-weight="bold"'),
  ];

  let lx = layout.legend.x;
  let ly = layout.legend.y;
  out.push('<g id="legend">');
  for (const [series, label] of LEGEND) {
    const w = legendItemWidth(label);
    if (lx + w > layout.width - MARGIN_RIGHT && lx > layout.legend.x) {
      lx = layout.legend.x;
      ly += LEGEND_ROW;
    }
    out.push(`<rect x="${lx}" y="${ly}" width="12" height="12" fill="${POOL_CHART_COLORS[series]}"/>`, text(lx + 17, ly + 10, label));
    lx += w;
  }
  out.push('</g>');

  if (policies.length === 0) out.push(text(MARGIN_LEFT, layout.legend.y + layout.legend.height + 40, 'No policy to show.'));

  policies.forEach((policy, i) => {
    const panel = layout.panels[i];
    if (panel === undefined) return;
    const { main, strip } = panel;
    const mainScale = scaleFor(main, fromMs, toMs, counts.max);
    const callScale = scaleFor(strip, fromMs, toMs, callTicks.max);
    const interfaceScale = scaleFor(strip, fromMs, toMs, interfaceTicks.max);
    const series = (value: (s: PoolChartSample) => number, upperOnly = false): Point[] =>
      downsampleMinMax(policy.samples.map((s) => ({ x: s.atMs, y: value(s) })), { ...range, upperOnly });

    out.push(`<g id="panel-${i}">`, clipRect(`clip-main-${i}`, main), clipRect(`clip-strip-${i}`, strip));
    const name = truncate(policy.name, plotWidth, 13);
    const summaryWidth = plotWidth - name.length * 13 * CHAR_WIDTH - 20;
    const summary = policy.summary === undefined || summaryWidth < 40 ? '' : `<tspan dx="10" font-weight="normal" fill="#555">${escapeXml(truncate(policy.summary, summaryWidth, FONT_SIZE))}</tspan>`;
    out.push(`<text x="${main.x}" y="${main.y - 8}" font-size="13" font-weight="bold">${escapeXml(name)}${summary}</text>`);
    out.push(...grid(main, mainScale, time, counts, 'left'), ...grid(strip, callScale, time, callTicks, 'left', POOL_CHART_COLORS.calls));
    out.push(...grid(strip, interfaceScale, { ...time, values: [] }, interfaceTicks, 'right', POOL_CHART_COLORS.interfaces));
    out.push(text(main.x - 44, main.y + main.height / 2, 'count', `transform="rotate(-90 ${main.x - 44} ${main.y + main.height / 2})" text-anchor="middle" fill="#555"`));
    // Frames under the data, so a series at 0 or at the maximum is not hidden by them.
    for (const rect of [main, strip]) out.push(`<rect x="${rect.x}" y="${rect.y}" width="${rect.width}" height="${rect.height}" fill="none" stroke="#999"/>`);
    if (policy.samples.length === 0) out.push(text(main.x + main.width / 2, main.y + main.height / 2, 'no samples', 'text-anchor="middle" fill="#888"'));

    out.push(`<g clip-path="url(#clip-main-${i})">`);
    // Stacked areas, back to front: the top of the stack is every address held.
    out.push(areaPath(series((s) => s.assigned + s.free + s.cooling, true), mainScale, POOL_CHART_COLORS.cooling));
    out.push(areaPath(series((s) => s.assigned + s.free, true), mainScale, POOL_CHART_COLORS.free));
    out.push(areaPath(series((s) => s.assigned, true), mainScale, POOL_CHART_COLORS.assigned));
    out.push(linePath(series((s) => s.pods), mainScale, POOL_CHART_COLORS.pods));
    out.push('</g>', `<g clip-path="url(#clip-strip-${i})">`);
    out.push(linePath(series((s) => s.interfaces), interfaceScale, POOL_CHART_COLORS.interfaces, { dashed: true }));
    out.push(linePath(downsampleMinMax(policy.calls.map((c) => ({ x: c.atMs, y: c.mutating })), range), callScale, POOL_CHART_COLORS.calls));
    out.push('</g>');

    for (const t of time.values) out.push(text(mainScale.x(t), strip.y + strip.height + 14, formatDuration(t), 'text-anchor="middle" fill="#555"'));
    out.push('</g>');
  });
  const last = layout.panels[layout.panels.length - 1];
  if (last !== undefined) {
    out.push(text(last.strip.x + last.strip.width, last.strip.y + last.strip.height + 27, 'time since the trace started', 'text-anchor="end" fill="#555"'));
  }
  out.push('</svg>');
  return `${out.filter((line) => line !== '').join('\n')}\n`;
}
