/**
 * The trace corpus the warm pool is judged on (issue 11): `count` traces drawn from every family in
 * turn, each with its own random parameters and machine type, split in two halves by index — the
 * tuning half (even) and the report half (odd). Tuning looks only at the tuning half; the report
 * half is what BENCHMARKS.md shows. Pure and deterministic: the same seed gives the same corpus.
 */
import { seededRandom } from '../../core/seeded-random.js';
import type { Trace } from '../traces.js';
import { CHURN_FAMILIES, drawTrace, type CorpusMachine } from './families.js';

export type CorpusHalf = 'tune' | 'report';

export interface CorpusEntry {
  readonly index: number;
  readonly family: string;
  readonly half: CorpusHalf;
  readonly machine: CorpusMachine;
  readonly trace: Trace;
}

export interface CorpusOptions {
  /** Traces in all; each family gets count / families of them. */
  readonly count: number;
  readonly seed: number;
  /** Machine types to draw from, small to large (the cloud's). */
  readonly machines: readonly CorpusMachine[];
}

export const DEFAULT_CORPUS_SEED = 2026;
export const DEFAULT_CORPUS_SIZE = 216;

/** The half an entry belongs to: even indexes tune, odd ones report. */
export function halfOf(index: number): CorpusHalf {
  return index % 2 === 0 ? 'tune' : 'report';
}

/** Draws one entry of the corpus without drawing the others (each has its own seeded sequence). */
export function corpusEntry(index: number, options: Omit<CorpusOptions, 'count'>): CorpusEntry {
  if (options.machines.length === 0) throw new Error('the corpus needs at least one machine type');
  const family = CHURN_FAMILIES[index % CHURN_FAMILIES.length]!;
  const random = seededRandom(options.seed * 100_003 + index * 7_919);
  const machine = options.machines[Math.floor(random() * options.machines.length)]!;
  const trace = drawTrace(family, { random, machine }, `${family.name}-${String(index).padStart(3, '0')}`);
  return { index, family: family.name, half: halfOf(index), machine, trace };
}

export function* drawCorpus(options: CorpusOptions): Generator<CorpusEntry> {
  for (let index = 0; index < options.count; index += 1) yield corpusEntry(index, options);
}
