/**
 * The Node condition and taint nativeip wants: the condition follows the pool at once; the taint
 * only for lasting reasons, with hysteresis (settleMs to go on or off, minTaintedMs on at least).
 */
import { describe, expect, it } from 'vitest';
import {
  AVAILABLE_REASON,
  DEFAULT_AVAILABILITY_POLICY,
  INITIAL_AVAILABILITY,
  conditionOf,
  evaluateAvailability,
  nextAvailabilityCheckMs,
  type AvailabilityMemory,
  type AvailabilityPolicy,
  type ExhaustionReason,
  type NodeAvailability,
  type PoolOutlook,
} from '../../src/core/node-availability.js';

const { settleMs, minTaintedMs } = DEFAULT_AVAILABILITY_POLICY;

const blocked = (reason: ExhaustionReason, extra: Partial<PoolOutlook> = {}): PoolOutlook => ({
  free: 0,
  coolingDown: 0,
  blocked: { reason, message: `blocked by ${reason}` },
  ...extra,
});
const serving: PoolOutlook = { free: 3, coolingDown: 0 };

/**
 * The node as the cluster agent sees it: one evaluation per tick, the memory carried over.
 * Records every change of the taint with the time it happened.
 */
class Evaluator {
  memory: AvailabilityMemory = INITIAL_AVAILABILITY;
  last: NodeAvailability | undefined;
  readonly taintChanges: { atMs: number; taint: ExhaustionReason | undefined }[] = [];
  conditionChanges = 0;

  constructor(readonly policy: AvailabilityPolicy = DEFAULT_AVAILABILITY_POLICY) {}

  at(nowMs: number, outlook: PoolOutlook): NodeAvailability {
    const { availability, memory } = evaluateAvailability(this.memory, outlook, nowMs, this.policy);
    if (availability.taint !== (this.last?.taint ?? undefined)) this.taintChanges.push({ atMs: nowMs, taint: availability.taint });
    if (this.last !== undefined && (availability.available !== this.last.available || availability.reason !== this.last.reason)) this.conditionChanges += 1;
    this.memory = memory;
    this.last = availability;
    return availability;
  }

  /** Holds `outlook` from `fromMs` to `toMs` inclusive, one evaluation every `stepMs`. */
  hold(fromMs: number, toMs: number, outlook: PoolOutlook, stepMs = 100): NodeAvailability {
    let result = this.at(fromMs, outlook);
    for (let t = fromMs + stepMs; t <= toMs; t += stepMs) result = this.at(t, outlook);
    return result;
  }
}

describe('conditionOf', () => {
  it.each<[string, PoolOutlook, boolean, string]>([
    ['free addresses', { free: 2, coolingDown: 0 }, true, AVAILABLE_REASON],
    ['free addresses while blocked (the pool cannot grow but can serve)', { free: 1, coolingDown: 0, blocked: { reason: 'InterfaceLimit', message: 'm' } }, true, AVAILABLE_REASON],
    ['nothing free but growing', { free: 0, coolingDown: 0 }, true, AVAILABLE_REASON],
    ['nothing free, cooling, not blocked', { free: 0, coolingDown: 4 }, true, AVAILABLE_REASON],
    ['nothing free and blocked', blocked('SubnetFull'), false, 'SubnetFull'],
    ['nothing free, cooling and blocked', blocked('MaxPods', { coolingDown: 2 }), false, 'MaxPods'],
    ['nothing free and throttled', blocked('Throttled'), false, 'Throttled'],
  ])('%s', (_name, outlook, available, reason) => {
    const condition = conditionOf(outlook);
    expect(condition).toMatchObject({ available, reason });
    expect(condition).not.toHaveProperty('taint');
  });

  it('a False condition carries the pool message, with no count in the reason', () => {
    expect(conditionOf(blocked('InterfaceLimit'))).toEqual({ available: false, reason: 'InterfaceLimit', message: 'no free address: blocked by InterfaceLimit' });
  });
});

describe('evaluateAvailability: which reasons taint', () => {
  it.each<[ExhaustionReason, boolean]>([
    ['InterfaceLimit', true],
    ['SubnetFull', true],
    ['MaxPods', true],
    ['Throttled', false],
    ['CloudError', false],
  ])('%s held well past settleMs → tainted: %s', (reason, tainted) => {
    const node = new Evaluator();
    const result = node.hold(0, settleMs * 5, blocked(reason));
    expect(result.available).toBe(false);
    expect(result.reason).toBe(reason);
    expect(result.taint).toBe(tainted ? reason : undefined);
  });

  it('never while an address is cooling down (it is free again within the cooldown)', () => {
    const node = new Evaluator();
    const result = node.hold(0, 60_000, blocked('InterfaceLimit', { coolingDown: 1 }));
    expect(result).toMatchObject({ available: false, reason: 'InterfaceLimit' });
    expect(result.taint).toBeUndefined();
  });

  it('never with policy.taint false: the condition alone', () => {
    const node = new Evaluator({ ...DEFAULT_AVAILABILITY_POLICY, taint: false });
    const result = node.hold(0, 60_000, blocked('MaxPods'));
    expect(result).toEqual({ available: false, reason: 'MaxPods', message: 'no free address: blocked by MaxPods' });
    expect(node.taintChanges).toEqual([]);
  });

  it('a taint is removed at once when the policy is turned off, even inside minTaintedMs', () => {
    const node = new Evaluator();
    node.hold(0, settleMs, blocked('SubnetFull'));
    expect(node.last?.taint).toBe('SubnetFull');
    const { availability, memory } = evaluateAvailability(node.memory, blocked('SubnetFull'), settleMs + 1, { ...DEFAULT_AVAILABILITY_POLICY, taint: false });
    expect(availability.taint).toBeUndefined();
    expect(availability.available).toBe(false);
    expect(memory).toEqual(INITIAL_AVAILABILITY);
  });
});

describe('evaluateAvailability: hysteresis', () => {
  it('sets the taint only after settleMs of continuous exhaustion', () => {
    const node = new Evaluator();
    expect(node.at(0, blocked('InterfaceLimit')).taint).toBeUndefined();
    expect(node.at(settleMs - 1, blocked('InterfaceLimit')).taint).toBeUndefined();
    expect(node.at(settleMs, blocked('InterfaceLimit')).taint).toBe('InterfaceLimit');
    expect(node.taintChanges).toEqual([{ atMs: settleMs, taint: 'InterfaceLimit' }]);
  });

  it('the condition is False at once, before the taint', () => {
    const node = new Evaluator();
    const first = node.at(0, blocked('InterfaceLimit'));
    expect(first.available).toBe(false);
    expect(first.taint).toBeUndefined();
  });

  it.each([
    ['a served evaluation', serving],
    ['an address cooling down', blocked('InterfaceLimit', { coolingDown: 1 })],
    ['a non-lasting reason', blocked('Throttled')],
  ])('a dip shorter than settleMs (%s) restarts the count and never taints', (_name, dip) => {
    const node = new Evaluator();
    // Exhausted settleMs - 100, one dip, exhausted settleMs - 100 again, over and over.
    let t = 0;
    for (let round = 0; round < 20; round += 1) {
      node.hold(t, t + settleMs - 200, blocked('InterfaceLimit'));
      node.at(t + settleMs - 100, dip);
      t += settleMs;
    }
    expect(node.taintChanges).toEqual([]);
  });

  it('clears only after settleMs of recovery and minTaintedMs since it was set', () => {
    const node = new Evaluator();
    node.hold(0, settleMs, blocked('MaxPods'));
    const setAt = settleMs;
    // Recovery right away: settleMs passes, but minTaintedMs has not.
    expect(node.hold(setAt + 100, setAt + 100 + settleMs, serving).taint).toBe('MaxPods');
    expect(node.at(setAt + minTaintedMs - 1, serving).taint).toBe('MaxPods');
    expect(node.at(setAt + minTaintedMs, serving).taint).toBeUndefined();
    expect(node.taintChanges.map((c) => c.atMs)).toEqual([setAt, setAt + minTaintedMs]);
  });

  it('after minTaintedMs, still needs settleMs of recovery', () => {
    const node = new Evaluator();
    node.hold(0, settleMs, blocked('MaxPods'));
    node.hold(settleMs, settleMs + minTaintedMs * 2, blocked('MaxPods'));
    const recoverAt = settleMs + minTaintedMs * 2 + 100;
    expect(node.hold(recoverAt, recoverAt + settleMs - 100, serving).taint).toBe('MaxPods');
    expect(node.at(recoverAt + settleMs, serving).taint).toBeUndefined();
  });

  it('a recovery broken by exhaustion starts over', () => {
    const node = new Evaluator();
    node.hold(0, minTaintedMs * 2, blocked('SubnetFull'));
    let t = minTaintedMs * 2;
    for (let round = 0; round < 10; round += 1) {
      node.hold(t + 100, t + settleMs - 100, serving);
      node.at(t + settleMs, blocked('SubnetFull'));
      t += settleMs;
    }
    expect(node.last?.taint).toBe('SubnetFull');
    expect(node.taintChanges).toHaveLength(1);
  });

  it('a reason change while tainted keeps the taint with the new value, and its age', () => {
    const node = new Evaluator();
    node.hold(0, settleMs, blocked('InterfaceLimit'));
    const setAt = settleMs;
    expect(node.at(setAt + 500, blocked('SubnetFull')).taint).toBe('SubnetFull');
    expect(node.memory).toEqual({ taint: 'SubnetFull', taintedAtMs: setAt });
    // A move to a non-lasting reason is a recovery from the taint's point of view.
    node.hold(setAt + 600, setAt + minTaintedMs + settleMs, blocked('Throttled'));
    expect(node.last).toMatchObject({ available: false, reason: 'Throttled' });
    expect(node.last?.taint).toBeUndefined();
    expect(node.taintChanges.map((c) => c.taint)).toEqual(['InterfaceLimit', 'SubnetFull', undefined]);
  });

  it('a reason change while the taint is pending sets it with the latest reason, without restarting', () => {
    const node = new Evaluator();
    node.at(0, blocked('InterfaceLimit'));
    node.at(settleMs / 2, blocked('MaxPods'));
    expect(node.at(settleMs, blocked('MaxPods')).taint).toBe('MaxPods');
  });
});

describe('nextAvailabilityCheckMs', () => {
  it('undefined with nothing pending', () => {
    expect(nextAvailabilityCheckMs(INITIAL_AVAILABILITY)).toBeUndefined();
    expect(nextAvailabilityCheckMs({ taint: 'MaxPods', taintedAtMs: 5 })).toBeUndefined();
  });

  it('settleMs after exhaustion began, when the taint is pending', () => {
    const { memory } = evaluateAvailability(INITIAL_AVAILABILITY, blocked('MaxPods'), 1_000);
    expect(nextAvailabilityCheckMs(memory)).toBe(1_000 + settleMs);
  });

  it('the later of settleMs of recovery and minTaintedMs since set, when the clear is pending', () => {
    const node = new Evaluator();
    node.hold(0, settleMs, blocked('MaxPods'));
    node.at(settleMs + 100, serving);
    expect(nextAvailabilityCheckMs(node.memory)).toBe(settleMs + minTaintedMs);
    const late = new Evaluator();
    late.hold(0, minTaintedMs * 3, blocked('MaxPods'));
    late.at(minTaintedMs * 3 + 100, serving);
    expect(nextAvailabilityCheckMs(late.memory)).toBe(minTaintedMs * 3 + 100 + settleMs);
  });

  it('evaluating at the time it names changes the taint', () => {
    const node = new Evaluator();
    node.at(0, blocked('SubnetFull'));
    const at = nextAvailabilityCheckMs(node.memory);
    expect(at).toBeDefined();
    expect(node.at(at ?? 0, blocked('SubnetFull')).taint).toBe('SubnetFull');
  });
});

describe('flapping', () => {
  /** The doc's promise: at most two taint changes (Node writes) in any window of minTaintedMs + settleMs. */
  function mostChangesInAWindow(changes: readonly { atMs: number }[], windowMs: number): number {
    let most = 0;
    for (const [i, first] of changes.entries()) {
      const inWindow = changes.slice(i).filter((c) => c.atMs - first.atMs < windowMs).length;
      most = Math.max(most, inWindow);
    }
    return most;
  }

  const policies: [string, AvailabilityPolicy][] = [
    ['the default policy', DEFAULT_AVAILABILITY_POLICY],
    ['settleMs 400, minTaintedMs 3 s', { taint: true, settleMs: 400, minTaintedMs: 3_000 }],
    ['settleMs 200, minTaintedMs 1 s', { taint: true, settleMs: 200, minTaintedMs: 1_000 }],
  ];

  it.each(policies)('exhausted and served alternating every 500 ms for a minute (%s): at most two changes per minTaintedMs + settleMs', (_name, policy) => {
    const node = new Evaluator(policy);
    const minuteMs = 60_000;
    for (let t = 0; t < minuteMs; t += 500) node.hold(t, t + 400, (t / 500) % 2 === 0 ? blocked('InterfaceLimit') : serving);
    const windowMs = policy.minTaintedMs + policy.settleMs;
    expect(mostChangesInAWindow(node.taintChanges, windowMs)).toBeLessThanOrEqual(2);
    expect(node.taintChanges.length).toBeLessThanOrEqual(2 * Math.ceil(minuteMs / windowMs));
    if (policy.settleMs > 500) expect(node.taintChanges).toEqual([]);
    else expect(node.taintChanges.length).toBeGreaterThan(0); // the bound is reached, not vacuous
  });

  it.each(policies)('the fastest sequence that can flip the taint (%s) still keeps the bound', (_name, policy) => {
    // Exhausted just long enough to set it, served just long enough to clear it, for ten minutes.
    const node = new Evaluator(policy);
    let t = 0;
    while (t < 600_000) {
      node.hold(t, t + policy.settleMs, blocked('SubnetFull'));
      t += policy.settleMs + 100;
      const clearBy = t + Math.max(policy.settleMs, policy.minTaintedMs);
      node.hold(t, clearBy, serving);
      t = clearBy + 100;
    }
    const windowMs = policy.minTaintedMs + policy.settleMs;
    expect(node.taintChanges.length).toBeGreaterThanOrEqual(2 * Math.floor(600_000 / (windowMs + 1_000)));
    expect(mostChangesInAWindow(node.taintChanges, windowMs)).toBeLessThanOrEqual(2);
  });

  it('the condition follows every flap at once: it is conditionOf(outlook) at each evaluation', () => {
    const node = new Evaluator();
    for (let t = 0; t < 60_000; t += 500) {
      const outlook = (t / 500) % 2 === 0 ? blocked('InterfaceLimit') : serving;
      const availability = node.at(t, outlook);
      expect({ available: availability.available, reason: availability.reason, message: availability.message }).toEqual(conditionOf(outlook));
    }
    expect(node.conditionChanges).toBe(119);
  });
});
