/**
 * Axis ticks for the simulators' charts and what they read: round counts (1, 2 or 5 × 10^k) and
 * round durations (1 s … 30 days). Pure.
 */

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

/** For an axis too short for more than its two ends: 0 and a round maximum. */
export function endTicks(max: number): Ticks {
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
