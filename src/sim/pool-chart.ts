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

/**
 * Fixed series colors, from the Okabe–Ito palette (distinguishable with the common color-vision
 * deficiencies); the stacked areas use lighter tints of it so the lines over them stand out.
 */
export const POOL_CHART_COLORS = {
  assigned: '#6aaed6',
  free: '#7ccba2',
  cooling: '#f4c36b',
  pods: '#d55e00',
  calls: '#cc79a7',
  interfaces: '#0072b2',
} as const;

export type PoolChartSeries = keyof typeof POOL_CHART_COLORS;

const LEGEND: ReadonlyArray<readonly [PoolChartSeries, string]> = [
  ['assigned', 'assigned addresses'],
  ['free', '+ free'],
  ['cooling', '+ cooling down'],
  ['pods', 'pods (with an address or waiting)'],
  ['calls', 'mutating cloud calls, cumulative'],
  ['interfaces', 'interfaces'],
];

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface PoolChartLayout {
  readonly width: number;
  readonly height: number;
  readonly legend: Rect;
  /** Per policy, in input order: its main plot and its calls/interfaces strip. */
  readonly panels: ReadonlyArray<{ readonly main: Rect; readonly strip: Rect }>;
}

const MARGIN_LEFT = 60;
const MARGIN_RIGHT = 56;
const FONT_SIZE = 11;
/** Average advance of a sans-serif character, as a share of the font size (to wrap and truncate). */
const CHAR_WIDTH = 0.6;
const LEGEND_ROW = 18;
const MAIN_HEIGHT = 160;
const STRIP_HEIGHT = 44;
const PANEL_NAME = 24;
const PANEL_GAP = 10;
const AXIS_LABELS = 30;

function legendItemWidth(label: string): number {
  return 12 + 5 + Math.ceil(label.length * FONT_SIZE * CHAR_WIDTH) + 16;
}

/** Where everything goes, from the width and the number of policies alone. */
export function poolChartLayout(policyCount: number, widthPx = 960): PoolChartLayout {
  const width = Math.max(320, Math.round(widthPx));
  let rows = 1;
  let x = MARGIN_LEFT;
  for (const [, label] of LEGEND) {
    const w = legendItemWidth(label);
    if (x + w > width - MARGIN_RIGHT && x > MARGIN_LEFT) {
      rows += 1;
      x = MARGIN_LEFT;
    }
    x += w;
  }
  const legend = { x: MARGIN_LEFT, y: 36, width: width - MARGIN_LEFT - MARGIN_RIGHT, height: rows * LEGEND_ROW };
  const plotWidth = width - MARGIN_LEFT - MARGIN_RIGHT;
  const panelHeight = PANEL_NAME + MAIN_HEIGHT + PANEL_GAP + STRIP_HEIGHT + AXIS_LABELS;
  const top = legend.y + legend.height + 8;
  const panels = Array.from({ length: Math.max(0, policyCount) }, (_, i) => {
    const mainY = top + i * panelHeight + PANEL_NAME;
    return {
      main: { x: MARGIN_LEFT, y: mainY, width: plotWidth, height: MAIN_HEIGHT },
      strip: { x: MARGIN_LEFT, y: mainY + MAIN_HEIGHT + PANEL_GAP, width: plotWidth, height: STRIP_HEIGHT },
    };
  });
  return { width, height: top + Math.max(1, policyCount) * panelHeight + 16, legend, panels };
}

export interface Ticks {
  readonly step: number;
  /** From 0 up to and including the axis maximum. */
  readonly values: readonly number[];
  /** The axis maximum: the first tick at or above the data's maximum. */
  readonly max: number;
}

/** Round ticks (1, 2 or 5 × 10^k, at least 1: the quantities are counts) from 0 to cover `max`. */
export function countTicks(max: number, maxTicks = 5): Ticks {
  const top = Number.isFinite(max) && max > 0 ? max : 1;
  const raw = top / Math.max(1, maxTicks);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude);
  const n = Math.ceil(top / step - 1e-9);
  return { step, values: Array.from({ length: n + 1 }, (_, i) => i * step), max: n * step };
}

/** A strip is too short for more than its two ends: 0 and a round maximum. */
function stripTicks(max: number): Ticks {
  const ticks = countTicks(max, 4);
  return { ...ticks, values: [0, ticks.max] };
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const TIME_STEPS = [1, 2, 5, 10, 15, 30].map((s) => s * SECOND)
  .concat([1, 2, 5, 10, 15, 30].map((m) => m * MINUTE))
  .concat([1, 2, 3, 6, 12, 24, 48, 72, 168, 336, 720].map((h) => h * HOUR));

/** Time ticks at round durations (1 s … 30 min, 1 h … 30 days) from `fromMs`, at most `maxTicks` steps. */
export function timeTicks(fromMs: number, toMs: number, maxTicks = 8): Ticks {
  const span = Math.max(1, toMs - fromMs);
  const step = TIME_STEPS.find((s) => span / s <= Math.max(1, maxTicks)) ?? Math.ceil(span / maxTicks / (720 * HOUR)) * 720 * HOUR;
  const first = Math.ceil(fromMs / step) * step;
  const values: number[] = [];
  for (let t = first; t <= toMs + 1e-6; t += step) values.push(t);
  return { step, values, max: toMs };
}

/** "0", "30s", "1m30s", "45m", "1h30m", "36h": what a time tick reads. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.round(Math.abs(ms) / SECOND);
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  const s = rest - m * 60;
  return sign + [h > 0 ? `${h}h` : '', m > 0 ? `${m}m` : '', s > 0 ? `${s}s` : ''].join('');
}

/** "950", "12k", "2.5k", "1.2M": what a count tick reads. */
export function formatCount(n: number): string {
  if (Math.abs(n) >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
  if (Math.abs(n) >= 1e4) return `${+(n / 1e3).toFixed(1)}k`;
  return String(n);
}

/** Text and attribute values for XML: the five special characters, and no character XML 1.0 forbids. */
export function escapeXml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

export interface Point {
  readonly x: number;
  readonly y: number;
}

/**
 * Keeps, of each of `columns` equal slices of [from, to], the lowest and the highest point (in
 * their time order; one point where they are the same), so a line through the result covers the
 * same pixels as one through every point. With `upperOnly`, only the highest: the outline of an
 * area whose peaks must show. Points must be in x order; non-finite ones are dropped.
 */
export function downsampleMinMax(points: readonly Point[], range: { from: number; to: number; columns: number; upperOnly?: boolean }): Point[] {
  const columns = Math.max(1, Math.floor(range.columns));
  const span = range.to - range.from;
  const out: Point[] = [];
  let column = -1;
  let min: Point | undefined;
  let max: Point | undefined;
  let minFirst = true;
  const flush = (): void => {
    if (min === undefined || max === undefined) return;
    if (min === max || range.upperOnly === true) out.push(max);
    else if (minFirst) out.push(min, max);
    else out.push(max, min);
  };
  for (const p of points) {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) continue;
    const c = span > 0 ? Math.min(columns - 1, Math.max(0, Math.floor(((p.x - range.from) / span) * columns))) : 0;
    if (c !== column || min === undefined || max === undefined) {
      flush();
      column = c;
      min = p;
      max = p;
      minFirst = true;
      continue;
    }
    if (p.y < min.y) {
      min = p;
      minFirst = false;
    }
    if (p.y > max.y) {
      max = p;
      minFirst = true;
    }
  }
  flush();
  return out;
}

function sortedByTime<T extends { readonly atMs: number }>(items: readonly T[]): readonly T[] {
  for (let i = 1; i < items.length; i++) {
    if (items[i]!.atMs < items[i - 1]!.atMs) return [...items].sort((a, b) => a.atMs - b.atMs);
  }
  return items;
}

function num(n: number): string {
  return String(Math.round(n * 10) / 10 + 0);
}

interface Scale {
  readonly x: (ms: number) => number;
  readonly y: (v: number) => number;
}

function scaleFor(rect: Rect, fromMs: number, toMs: number, max: number): Scale {
  const span = Math.max(1, toMs - fromMs);
  return {
    x: (ms) => rect.x + ((ms - fromMs) / span) * rect.width,
    y: (v) => rect.y + rect.height - (v / max) * rect.height,
  };
}

function polyline(points: readonly Point[], scale: Scale): string {
  return points.map((p, i) => `${i === 0 ? 'M' : i === 1 ? 'L' : ''}${num(scale.x(p.x))},${num(scale.y(p.y))}`).join(' ');
}

function linePath(points: readonly Point[], scale: Scale, color: string, style: { dashed?: boolean } = {}): string {
  if (points.length === 0) return '';
  const d = points.length === 1 ? `${polyline(points, scale)} h1` : polyline(points, scale);
  const dash = style.dashed === true ? ' stroke-dasharray="5 3"' : '';
  return `<path d="${d}" fill="none" stroke="${color}" stroke-width="2" stroke-linejoin="round"${dash}/>`;
}


function areaPath(points: readonly Point[], scale: Scale, color: string): string {
  const first = points[0];
  const last = points[points.length - 1];
  if (first === undefined || last === undefined) return '';
  const base = num(scale.y(0));
  return `<path d="M${num(scale.x(first.x))},${base} L${polyline(points, scale).slice(1)} L${num(scale.x(last.x))},${base} Z" fill="${color}" stroke="none"/>`;
}

function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${num(x)}" y="${num(y)}"${attrs ? ` ${attrs}` : ''}>${escapeXml(content)}</text>`;
}

function truncate(content: string, widthPx: number, fontSize: number): string {
  const chars = Math.max(1, Math.floor(widthPx / (fontSize * CHAR_WIDTH)));
  return content.length <= chars ? content : `${content.slice(0, Math.max(0, chars - 1))}…`;
}

function grid(rect: Rect, scale: Scale, time: Ticks, counts: Ticks, side: 'left' | 'right', color = '#333'): string[] {
  const out: string[] = [];
  for (const t of time.values) {
    const x = num(scale.x(t));
    out.push(`<line x1="${x}" y1="${rect.y}" x2="${x}" y2="${rect.y + rect.height}" stroke="#ececec"/>`);
  }
  for (const v of counts.values) {
    const y = scale.y(v);
    if (side === 'left') out.push(`<line x1="${rect.x}" y1="${num(y)}" x2="${rect.x + rect.width}" y2="${num(y)}" stroke="#ececec"/>`);
    const x = side === 'left' ? rect.x - 5 : rect.x + rect.width + 5;
    out.push(text(x, y + 4, formatCount(v), `text-anchor="${side === 'left' ? 'end' : 'start'}" fill="${color}"`));
  }
  return out;
}

function clipRect(id: string, rect: Rect): string {
  return `<clipPath id="${id}"><rect x="${rect.x - 3}" y="${rect.y - 3}" width="${rect.width + 6}" height="${rect.height + 6}"/></clipPath>`;
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
  if (toMs <= fromMs) toMs = fromMs + MINUTE;
  const plotWidth = layout.width - MARGIN_LEFT - MARGIN_RIGHT;
  const time = timeTicks(fromMs, toMs, Math.max(2, Math.floor(plotWidth / 90)));
  const counts = countTicks(maxCount, 5);
  const callTicks = stripTicks(maxCalls);
  const interfaceTicks = stripTicks(maxInterfaces);
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
