import { describe, expect, it } from 'vitest';
import { ReconcileGate, type ObservationOutcome } from '../../src/ipamd/pool/reconcile-gate.js';

const match: ObservationOutcome = { kind: 'match' };
const differs: ObservationOutcome = { kind: 'differs', difference: 'eni-1: 10.0.0.7 not on the node' };
const unknown: ObservationOutcome = { kind: 'unknown' };

describe('ReconcileGate', () => {
  it.each<[string, ObservationOutcome, number | undefined, boolean, ReturnType<ReconcileGate['decide']>]>([
    // name, outcome, our last change (ms before now), may recheck, decision
    ['a match costs nothing', match, undefined, true, { action: 'none' }],
    ['a match right after our change costs nothing', match, 100, true, { action: 'none' }],
    ['a difference with no change of ours is drift', differs, undefined, true, { action: 'describe' }],
    ['a difference long after our change is drift', differs, 5_000, true, { action: 'describe' }],
    ['a difference right after our change may be lag', differs, 1_500, true, { action: 'recheck', inMs: 3_500 }],
    ['a difference on the recheck is drift', differs, 1_500, false, { action: 'describe' }],
    ['no observation: describe', unknown, 100, true, { action: 'describe' }],
  ])('%s', (_name, outcome, changedMsAgo, mayRecheck, decision) => {
    const gate = new ReconcileGate({ settleMs: 5_000, fullReconcileMs: 900_000 });
    const now = 1_000_000;
    if (changedMsAgo !== undefined) gate.changed(now - changedMsAgo);
    expect(gate.decide(outcome, now, mayRecheck)).toEqual(decision);
  });

  it('counts how each reconcile went', () => {
    const gate = new ReconcileGate({ settleMs: 5_000, fullReconcileMs: 900_000 });
    gate.changed(0);
    gate.decide(match, 60_000, true);
    gate.decide(differs, 1_000, true);
    gate.decide(differs, 6_000, false);
    gate.decide(unknown, 7_000, true);
    expect(gate.counts).toEqual({ observedMatch: 1, rechecked: 1, described: 2 });
  });

  it.each([
    [undefined, 0, false],
    [0, 899_999, true],
    [0, 900_000, false],
  ])('last described at %s, at %i observing is allowed: %s', (describedAt, now, allowed) => {
    const gate = new ReconcileGate({ settleMs: 5_000, fullReconcileMs: 900_000 });
    if (describedAt !== undefined) gate.described(describedAt);
    expect(gate.mayObserve(now)).toBe(allowed);
  });
});
