/** Reducing a long series to what a chart of a given width can show, peaks kept. Pure. */

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
