/**
 * SVG drawing for the simulators' charts: escaped text, a plot's scales, lines and areas through
 * points, grid lines with their labels. Each returns markup as a string. Pure.
 */
import type { Point } from './chart-downsample.js';
import { formatCount, type Ticks } from './chart-ticks.js';

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Average advance of a sans-serif character, as a share of the font size (to wrap and truncate). */
export const CHAR_WIDTH = 0.6;

/** Text and attribute values for XML: the five special characters, and no character XML 1.0 forbids. */
export function escapeXml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

/** A coordinate as the markup writes it: to 0.1 px, and never "-0". */
export function num(n: number): string {
  return String(Math.round(n * 10) / 10 + 0);
}

/** From data to the page: time to x, a count to y. */
export interface Scale {
  readonly x: (ms: number) => number;
  readonly y: (v: number) => number;
}

/** Time from `fromMs` to `toMs` across `rect`, and counts from 0 at its bottom to `max` at its top. */
export function scaleFor(rect: Rect, fromMs: number, toMs: number, max: number): Scale {
  const span = Math.max(1, toMs - fromMs);
  return {
    x: (ms) => rect.x + ((ms - fromMs) / span) * rect.width,
    y: (v) => rect.y + rect.height - (v / max) * rect.height,
  };
}

function polyline(points: readonly Point[], scale: Scale): string {
  return points.map((p, i) => `${i === 0 ? 'M' : i === 1 ? 'L' : ''}${num(scale.x(p.x))},${num(scale.y(p.y))}`).join(' ');
}

/** A line through the points (a dot for a single one); empty for none. */
export function linePath(points: readonly Point[], scale: Scale, color: string, style: { dashed?: boolean } = {}): string {
  if (points.length === 0) return '';
  const d = points.length === 1 ? `${polyline(points, scale)} h1` : polyline(points, scale);
  const dash = style.dashed === true ? ' stroke-dasharray="5 3"' : '';
  return `<path d="${d}" fill="none" stroke="${color}" stroke-width="2" stroke-linejoin="round"${dash}/>`;
}

/** The area between the points and 0, filled; empty for no points. */
export function areaPath(points: readonly Point[], scale: Scale, color: string): string {
  const first = points[0];
  const last = points[points.length - 1];
  if (first === undefined || last === undefined) return '';
  const base = num(scale.y(0));
  return `<path d="M${num(scale.x(first.x))},${base} L${polyline(points, scale).slice(1)} L${num(scale.x(last.x))},${base} Z" fill="${color}" stroke="none"/>`;
}

/** A `<text>` element; `content` is escaped, `attrs` is written as it is. */
export function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${num(x)}" y="${num(y)}"${attrs ? ` ${attrs}` : ''}>${escapeXml(content)}</text>`;
}

/** `content` cut with an ellipsis to fit `widthPx` at `fontSize`. */
export function truncate(content: string, widthPx: number, fontSize: number): string {
  const chars = Math.max(1, Math.floor(widthPx / (fontSize * CHAR_WIDTH)));
  return content.length <= chars ? content : `${content.slice(0, Math.max(0, chars - 1))}…`;
}

/** Vertical lines at the time ticks, and at each count tick a label on `side` (with a horizontal line, on the left). */
export function grid(rect: Rect, scale: Scale, time: Ticks, counts: Ticks, side: 'left' | 'right', color = '#333'): string[] {
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

/** A clip path `id` a little larger than `rect`, so lines at its edges keep their full width. */
export function clipRect(id: string, rect: Rect): string {
  return `<clipPath id="${id}"><rect x="${rect.x - 3}" y="${rect.y - 3}" width="${rect.width + 6}" height="${rect.height + 6}"/></clipPath>`;
}
