/**
 * Where each part of the pool chart goes (legend, and per policy its main plot and its strip),
 * from the width and the number of policies alone, and the colors of its series.
 */
import { CHAR_WIDTH, type Rect } from './chart-svg.js';

export type { Rect } from './chart-svg.js';

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

/** The legend's entries, in the order they are drawn. */
export const LEGEND: ReadonlyArray<readonly [PoolChartSeries, string]> = [
  ['assigned', 'assigned addresses'],
  ['free', '+ free'],
  ['cooling', '+ cooling down'],
  ['pods', 'pods (with an address or waiting)'],
  ['calls', 'mutating cloud calls, cumulative'],
  ['interfaces', 'interfaces'],
];

export interface PoolChartLayout {
  readonly width: number;
  readonly height: number;
  readonly legend: Rect;
  /** Per policy, in input order: its main plot and its calls/interfaces strip. */
  readonly panels: ReadonlyArray<{ readonly main: Rect; readonly strip: Rect }>;
}

/** Room left of the plots for the count labels, and right of them for the interfaces axis. */
export const MARGIN_LEFT = 60;
export const MARGIN_RIGHT = 56;
/** The chart's text size, px. */
export const FONT_SIZE = 11;
/** The height of a row of the legend, px. */
export const LEGEND_ROW = 18;
const MAIN_HEIGHT = 160;
const STRIP_HEIGHT = 44;
const PANEL_NAME = 24;
const PANEL_GAP = 10;
const AXIS_LABELS = 30;

/** How wide a legend entry is: its swatch, its label and the gap after it. */
export function legendItemWidth(label: string): number {
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
