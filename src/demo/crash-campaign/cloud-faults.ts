/**
 * Cloud faults for a crash-campaign round: which of the emulator's faults (src/emulator/faults)
 * the cloud injects while the round's storm runs. Cleared before the node is let settle, so the
 * checks see what the daemon made of them. Pure: builds plans from the seeded generator.
 */
import type { FaultCounts, FaultKind, FaultRuleInput } from '../../emulator/faults/index.js';
import type { FaultActions } from '../cloud-under-test.js';

/** A plan as the emulators take it. */
export interface RoundFaultPlan {
  readonly seed: number;
  readonly rules: readonly FaultRuleInput[];
}

export interface FaultChoices {
  /** Probability that a round has cloud faults at all. */
  readonly roundRate: number;
  /** Kinds left out (e.g. `timeout` while a provider has no request timeout). */
  readonly without?: readonly FaultKind[];
}

/** The fault plan of a round aimed at the cloud's `actions`, or undefined for a round without faults. */
export function roundFaults(actions: FaultActions, random: () => number, choices: FaultChoices): RoundFaultPlan | undefined {
  if (random() >= choices.roundRate) return undefined;
  const { writes, reads } = actions;
  const rules: FaultRuleInput[] = [
    { kind: 'replyLost', actions: [...writes], rate: 0.3 },
    { kind: 'serverError', status: random() < 0.5 ? 500 : 503, actions: [...writes, ...reads], rate: 0.2 },
    { kind: 'throttle', retryAfterSec: 1, actions: [...writes], rate: 0.15 },
    { kind: 'latency', delayMs: 50 + Math.floor(random() * 1500), actions: [...writes, ...reads], rate: 0.3 },
    { kind: 'notFoundAfterCreate', windowMs: 500 + Math.floor(random() * 2000), actions: ['*'] },
    { kind: 'timeout', applied: random() < 0.5, actions: [...writes], rate: 0.1 },
  ];
  return { seed: Math.floor(random() * 2 ** 31), rules: rules.filter((r) => !(choices.without ?? []).includes(r.kind)) };
}

/** Adds `fired` into `total` by kind. */
export function addFired(total: Record<string, number>, fired: FaultCounts): void {
  for (const [kind, n] of Object.entries(fired.byKind)) total[kind] = (total[kind] ?? 0) + (n ?? 0);
}
