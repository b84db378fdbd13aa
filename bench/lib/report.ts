/** Shared by the benchmarks: percentiles, and writing a section of BENCHMARKS.md. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

export { percentile } from '../../src/sim/percentile.js';

export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export function ms(value: number): string {
  return `${value.toFixed(value < 10 ? 2 : 1)} ms`;
}

export function machineLine(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

/**
 * Replaces (or appends) the section `name` of BENCHMARKS.md, delimited by HTML comments, so each
 * benchmark owns its own part of the file. With `after`, a new section goes right after that one
 * (an empty placeholder for it is added first when it is not there yet, so the two stay together
 * whichever is written first).
 */
export function writeSection(name: string, markdown: string, options: { readonly after?: string } = {}): void {
  const file = join(REPO_ROOT, 'BENCHMARKS.md');
  const markers = (section: string) => [`<!-- bench:${section} -->`, `<!-- /bench:${section} -->`] as const;
  const [begin, end] = markers(name);
  const block = `${begin}\n${markdown.trim()}\n${end}`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n\nFigures written by the programs in `bench/`; each section says how it was measured. Timings are never asserted in tests.\n';
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  if (start >= 0 && stop > start) {
    text = text.slice(0, start) + block + text.slice(stop + end.length);
  } else if (options.after !== undefined) {
    const [anchorBegin, anchorEnd] = markers(options.after);
    if (!text.includes(anchorEnd)) text = `${text.trimEnd()}\n\n${anchorBegin}\n${anchorEnd}\n`;
    const at = text.indexOf(anchorEnd) + anchorEnd.length;
    text = `${text.slice(0, at)}\n\n${block}${text.slice(at)}`;
  } else {
    text = `${text.trimEnd()}\n\n${block}\n`;
  }
  writeFileSync(file, text);
}
