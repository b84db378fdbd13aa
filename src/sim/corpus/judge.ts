/**
 * Judges a policy on the corpus against the issue's targets, trace by trace, and sums the judgement
 * up per family without averaging a bad trace away: the share of traces meeting each target and the
 * worst ratio of each. Per trace, against `WARM_ENI_TARGET=1` (the AWS VPC CNI's default):
 *   - waits: no more pods waiting than it;
 *   - idle: at most half its idle address-hours;
 *   - calls: at most half its mutating calls.
 * A target the clairvoyant lower bound already misses is impossible on that trace, and counted as
 * such rather than as a failure of the policy. Calls count from the nodes' start (warm-up
 * included), as the lower bound does. Pure.
 */
import type { LowerBound } from './lower-bound.js';

/** What the judgement reads of one replay. */
export interface ReplayFigures {
  readonly podsWaited: number;
  readonly idleAddressHours: number;
  /** Mutating calls from the nodes' start to the trace's end. */
  readonly mutatingCalls: number;
  readonly maxWaitMs: number;
  readonly podsUnserved: number;
}

export interface TraceJudgement {
  readonly trace: string;
  readonly family: string;
  readonly policy: ReplayFigures;
  readonly baseline: ReplayFigures;
  readonly bound: LowerBound;
  readonly meets: { readonly waits: boolean; readonly idle: boolean; readonly calls: boolean };
  readonly impossible: { readonly idle: boolean; readonly calls: boolean };
  /** Policy ÷ baseline; 0 ÷ 0 is 1. */
  readonly ratios: { readonly idle: number; readonly calls: number };
  /** Policy ÷ lower bound. */
  readonly overBound: { readonly idle: number; readonly calls: number };
}

export const IDLE_TARGET = 0.5;
export const CALLS_TARGET = 0.5;

const ratio = (a: number, b: number): number => (b === 0 ? (a === 0 ? 1 : Infinity) : a / b);

export function judgeTrace(trace: string, family: string, policy: ReplayFigures, baseline: ReplayFigures, bound: LowerBound): TraceJudgement {
  const idle = ratio(policy.idleAddressHours, baseline.idleAddressHours);
  const calls = ratio(policy.mutatingCalls, baseline.mutatingCalls);
  return {
    trace,
    family,
    policy,
    baseline,
    bound,
    meets: { waits: policy.podsWaited <= baseline.podsWaited, idle: idle <= IDLE_TARGET, calls: calls <= CALLS_TARGET },
    impossible: {
      idle: bound.idleAddressHours > IDLE_TARGET * baseline.idleAddressHours,
      calls: bound.mutatingCalls > CALLS_TARGET * baseline.mutatingCalls,
    },
    ratios: { idle, calls },
    overBound: { idle: ratio(policy.idleAddressHours, bound.idleAddressHours), calls: ratio(policy.mutatingCalls, bound.mutatingCalls) },
  };
}

export interface TargetSummary {
  /** Traces meeting the target, of those where the bound says it is possible. */
  readonly met: number;
  readonly possible: number;
  /** Traces where even the lower bound misses it. */
  readonly impossible: number;
  /** Impossible traces the policy met anyway (cannot happen for a true bound: a check on the bound). */
  readonly metWhereImpossible: number;
}

export interface FamilySummary {
  readonly family: string;
  readonly traces: number;
  readonly waits: TargetSummary;
  readonly idle: TargetSummary;
  readonly calls: TargetSummary;
  /** Worst (largest) policy ÷ baseline over the family's traces, and most pods waited beyond the baseline. */
  readonly worst: { readonly idle: number; readonly calls: number; readonly extraWaits: number; readonly idleTrace: string; readonly callsTrace: string; readonly waitsTrace: string };
  /** Worst policy ÷ lower bound. */
  readonly worstOverBound: { readonly idle: number; readonly calls: number };
  /** Every trace met every target that is possible on it. */
  readonly allPossibleMet: number;
}

function targetSummary(judgements: readonly TraceJudgement[], meets: (j: TraceJudgement) => boolean, impossible: (j: TraceJudgement) => boolean): TargetSummary {
  const possible = judgements.filter((j) => !impossible(j));
  return {
    met: possible.filter(meets).length,
    possible: possible.length,
    impossible: judgements.length - possible.length,
    metWhereImpossible: judgements.filter((j) => impossible(j) && meets(j)).length,
  };
}

function worstBy(judgements: readonly TraceJudgement[], value: (j: TraceJudgement) => number): { value: number; trace: string } {
  let worst = { value: -Infinity, trace: '' };
  for (const j of judgements) if (value(j) > worst.value) worst = { value: value(j), trace: j.trace };
  return worst;
}

export function summarise(family: string, judgements: readonly TraceJudgement[]): FamilySummary {
  const idle = worstBy(judgements, (j) => j.ratios.idle);
  const calls = worstBy(judgements, (j) => j.ratios.calls);
  const waits = worstBy(judgements, (j) => j.policy.podsWaited - j.baseline.podsWaited);
  return {
    family,
    traces: judgements.length,
    waits: targetSummary(judgements, (j) => j.meets.waits, () => false),
    idle: targetSummary(judgements, (j) => j.meets.idle, (j) => j.impossible.idle),
    calls: targetSummary(judgements, (j) => j.meets.calls, (j) => j.impossible.calls),
    worst: { idle: idle.value, calls: calls.value, extraWaits: Math.max(0, waits.value), idleTrace: idle.trace, callsTrace: calls.trace, waitsTrace: waits.trace },
    worstOverBound: { idle: worstBy(judgements, (j) => j.overBound.idle).value, calls: worstBy(judgements, (j) => j.overBound.calls).value },
    allPossibleMet: judgements.filter((j) => j.meets.waits && (j.meets.idle || j.impossible.idle) && (j.meets.calls || j.impossible.calls)).length,
  };
}
