/** The trace corpus: families, placement, the split, the lower bound and the judgement. */
import { describe, expect, it } from 'vitest';
import { corpusEntry, drawCorpus, halfOf } from '../../src/sim/corpus/corpus.js';
import { CHURN_FAMILIES } from '../../src/sim/corpus/families.js';
import { judgeTrace, summarise } from '../../src/sim/corpus/judge.js';
import { lowerBound } from '../../src/sim/corpus/lower-bound.js';
import { placePods } from '../../src/sim/corpus/placement.js';
import type { Trace } from '../../src/sim/traces.js';

const MACHINES = [
  { machineType: 'small', capacity: 15 },
  { machineType: 'large', capacity: 56 },
];

/** Most pods running on one node at once. */
function peakPerNode(trace: Trace): number {
  const live = new Map<string, Set<string>>();
  let peak = 0;
  for (const e of trace.events) {
    const pods = live.get(e.node) ?? new Set<string>();
    live.set(e.node, pods);
    if (e.op === 'add') pods.add(e.pod);
    else pods.delete(e.pod);
    peak = Math.max(peak, pods.size);
  }
  return peak;
}

describe('the corpus', () => {
  it('has at least eight families and at least 200 traces, every family in both halves', () => {
    expect(CHURN_FAMILIES.length).toBeGreaterThanOrEqual(8);
    const entries = [...drawCorpus({ count: 216, seed: 1, machines: MACHINES })].map((e) => ({ family: e.family, half: e.half }));
    expect(entries).toHaveLength(216);
    for (const family of CHURN_FAMILIES) {
      expect(entries.filter((e) => e.family === family.name && e.half === 'tune').length).toBeGreaterThanOrEqual(10);
      expect(entries.filter((e) => e.family === family.name && e.half === 'report').length).toBeGreaterThanOrEqual(10);
    }
  });

  it('is deterministic: the same seed and index give the same trace', () => {
    const a = corpusEntry(17, { seed: 5, machines: MACHINES });
    const b = corpusEntry(17, { seed: 5, machines: MACHINES });
    expect(b.trace.events).toEqual(a.trace.events);
    expect(corpusEntry(17, { seed: 6, machines: MACHINES }).trace.events).not.toEqual(a.trace.events);
    expect(halfOf(17)).toBe('report');
    expect(halfOf(18)).toBe('tune');
  });

  it.each(CHURN_FAMILIES.map((f, i) => [f.name, i] as const))('%s: a trace a cluster could produce (sorted, paired, within capacity)', (_name, index) => {
    for (const k of [0, CHURN_FAMILIES.length]) {
      const entry = corpusEntry(index + k, { seed: 3, machines: MACHINES });
      const { events } = entry.trace;
      expect(events.length).toBeGreaterThan(10);
      for (let i = 1; i < events.length; i += 1) expect(events[i]!.t).toBeGreaterThanOrEqual(events[i - 1]!.t);
      const added = new Set(events.filter((e) => e.op === 'add').map((e) => e.pod));
      for (const e of events.filter((x) => x.op === 'del')) expect(added.has(e.pod)).toBe(true);
      expect(peakPerNode(entry.trace)).toBeLessThanOrEqual(entry.machine.capacity);
    }
  });
});

describe('placement', () => {
  it('queues pods that find every node full and starts them as others end', () => {
    const intents = Array.from({ length: 6 }, () => ({ t: 0, lifetimeSec: 100 }));
    const trace = placePods('t', 'six pods, room for four', intents, { nodes: 2, capacity: 2, durationSec: 1000 });
    const adds = trace.events.filter((e) => e.op === 'add').map((e) => e.t);
    expect(adds).toEqual([0, 0, 0, 0, 100, 100]);
    expect(peakPerNode(trace)).toBe(2);
  });

  it('evicts a cordoned node\'s pods, recreates them elsewhere, and uses the node again after', () => {
    const intents = [{ t: 0, lifetimeSec: Infinity, node: 0 }, { t: 0, lifetimeSec: Infinity, node: 1 }, { t: 200, lifetimeSec: Infinity }];
    const trace = placePods('t', 'drain', intents, { nodes: 2, capacity: 5, durationSec: 1000, cordons: [{ node: 0, fromSec: 50, toSec: 150 }], evictionDelaySec: 3 });
    expect(trace.events.map((e) => `${e.t} ${e.node} ${e.op}`)).toEqual(['0 node-1 add', '0 node-2 add', '50 node-1 del', '53 node-2 add', '200 node-1 add']);
  });
});

describe('the lower bound', () => {
  const limits = { maxInterfaces: 3, ipv4PerInterface: 3 }; // 2 secondaries per interface
  it('idle: every ended pod\'s address cools down; extra interfaces idle their primary; calls: one fill, then 3 per interface', () => {
    const trace: Trace = {
      name: 't',
      description: '',
      durationSec: 1000,
      events: [
        { t: 0, node: 'n', pod: 'a', op: 'add' },
        { t: 0, node: 'n', pod: 'b', op: 'add' },
        { t: 0, node: 'n', pod: 'c', op: 'add' },
        { t: 100, node: 'n', pod: 'c', op: 'del' },
      ],
    };
    const bound = lowerBound(trace, { limits, cooldownMs: 30_000, callsPerInterface: 3 });
    // 3 live from 0 to 100 s: 2 interfaces, 1 idle primary; from 100 to 130 s: 2 live + 1 cooling (same);
    // after 130 s: 2 live, 1 interface, nothing idle. Idle = 130 s × 1 + 30 s × 1 cooling.
    expect(bound.idleAddressHours * 3600).toBeCloseTo(160, 6);
    expect(bound.mutatingCalls).toBe(1 + 3);
    expect(bound.peakAddresses).toBe(3);
    expect(bound.overCapacity).toBe(false);
  });

  it('says when pods must wait whatever the pool does', () => {
    const events = Array.from({ length: 7 }, (_, i) => ({ t: 0, node: 'n', pod: `p${i}`, op: 'add' as const }));
    expect(lowerBound({ name: 't', description: '', durationSec: 10, events }, { limits, cooldownMs: 0, callsPerInterface: 3 }).overCapacity).toBe(true);
  });
});

describe('the judgement', () => {
  const figures = (podsWaited: number, idleAddressHours: number, mutatingCalls: number) => ({ podsWaited, idleAddressHours, mutatingCalls, maxWaitMs: 0, podsUnserved: 0 });
  it('meets, misses, and calls a target impossible when the bound misses it', () => {
    const bound = { idleAddressHours: 10, mutatingCalls: 40, peakAddresses: 5, overCapacity: false };
    const j = judgeTrace('t', 'f', figures(3, 40, 50), figures(3, 100, 60), bound);
    expect(j.meets).toEqual({ waits: true, idle: true, calls: false });
    expect(j.impossible).toEqual({ idle: false, calls: true });
    const summary = summarise('f', [j, judgeTrace('u', 'f', figures(5, 80, 10), figures(3, 100, 100), bound)]);
    expect(summary.waits).toMatchObject({ met: 1, possible: 2 });
    expect(summary.idle).toMatchObject({ met: 1, possible: 2, impossible: 0 });
    expect(summary.calls).toMatchObject({ met: 1, possible: 1, impossible: 1 });
    expect(summary.worst).toMatchObject({ extraWaits: 2, idle: 0.8, idleTrace: 'u' });
    expect(summary.allPossibleMet).toBe(1);
  });
});
