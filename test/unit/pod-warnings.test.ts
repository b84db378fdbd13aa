/**
 * PodWarnings: one Event per refused pod whose count rises on repeats (written at most every
 * REPEAT_WRITE_MS), and a node-wide budget of writes (a burst, then a steady rate). Time is
 * driven by hand; the "API" below keeps the Events it was given.
 */
import { describe, expect, it } from 'vitest';
import type { PodWarning } from '../../src/ipamd/cluster/cluster-port.js';
import { EVENT_BUDGET, PodWarnings, REPEAT_WRITE_MS } from '../../src/ipamd/cluster/pod-warnings.js';

const REASON = 'NoAddressAvailable';
const HOUR_MS = 60 * 60_000;

/** Events as the API server would hold them, by name. */
class FakeEvents {
  readonly events = new Map<string, PodWarning>();
  writes = 0;
  failing = false;
  #next = 0;

  /** Creates an Event, or updates `existing`; returns its name. */
  write(warning: PodWarning, existing: string | undefined): string {
    this.writes += 1;
    if (this.failing) throw new Error('the API server is away');
    const name = existing ?? `${warning.name}.${(this.#next++).toString(16)}`;
    this.events.set(name, warning);
    return name;
  }

  countsByPod(): Record<string, number> {
    return Object.fromEntries([...this.events.values()].map((e) => [`${e.namespace}/${e.name}`, e.count]));
  }
}

/** PodWarnings with a hand-driven clock, written through to a FakeEvents the way ClusterAgent does. */
class Harness {
  nowMs = 1_700_000_000_000;
  readonly api = new FakeEvents();
  readonly warnings = new PodWarnings(() => this.nowMs);

  refuse(name: string, message = 'no free address: 3 of 3 network interfaces', namespace = 'default'): void {
    this.warnings.refused({ namespace, name, uid: `uid-${name}` }, REASON, message, this.nowMs);
  }

  /** One due() call whose writes all complete (or fail) at once; returns what was written. */
  flush(): PodWarning[] {
    const due = this.warnings.due(this.nowMs);
    for (const { key, warning, eventName } of due) {
      let name: string | undefined;
      try {
        name = this.api.write(warning, eventName);
      } catch {
        name = undefined;
      }
      this.warnings.written(key, warning.count, name, this.nowMs);
    }
    return due.map((d) => d.warning);
  }

  advance(ms: number): void {
    this.nowMs += ms;
  }
}

describe('PodWarnings: the node-wide budget', () => {
  it('100 pods refused in the same millisecond: the burst at once, the rest at the refill rate', () => {
    const h = new Harness();
    for (let i = 0; i < 100; i += 1) h.refuse(`pod-${i}`);
    const start = h.nowMs;
    expect(h.flush()).toHaveLength(EVENT_BUDGET.capacity);
    expect(h.flush()).toHaveLength(0); // the same millisecond: nothing more

    const writtenAt: number[] = [];
    while (h.api.events.size < 100 && h.nowMs - start < 10 * 60_000) {
      h.advance(250);
      writtenAt.push(...h.flush().map(() => h.nowMs - start));
      // Never ahead of the budget: the burst plus what refilled since.
      expect(h.api.events.size).toBeLessThanOrEqual(EVENT_BUDGET.capacity + Math.floor(((h.nowMs - start) / 1000) * EVENT_BUDGET.refillPerSecond));
    }
    expect(h.api.events.size).toBe(100);
    expect(h.api.writes).toBe(100);
    // 90 after the burst, one a second.
    const expectedEndMs = ((100 - EVENT_BUDGET.capacity) / EVENT_BUDGET.refillPerSecond) * 1000;
    expect(writtenAt.at(-1)).toBe(expectedEndMs);
    expect(writtenAt.slice(0, 3)).toEqual([1000, 2000, 3000]);
  });

  it('writes the oldest refusals first', () => {
    const h = new Harness();
    for (let i = 0; i < EVENT_BUDGET.capacity + 3; i += 1) {
      h.refuse(`pod-${i}`);
      h.advance(1);
    }
    h.refuse('pod-0'); // refused again: now the newest
    const first = h.flush().map((w) => w.name);
    expect(first).toHaveLength(EVENT_BUDGET.capacity);
    expect(first).not.toContain('pod-0');
    expect(first[0]).toBe('pod-1');
  });

  it('one pod refused over and over spends one write per REPEAT_WRITE_MS, not one per refusal', () => {
    const h = new Harness();
    h.refuse('pod-a');
    h.flush();
    for (let i = 0; i < 10 * 60; i += 1) {
      h.advance(1_000);
      h.refuse('pod-a');
      h.flush();
    }
    // Ten minutes: the first write, then one every 30 s.
    expect(h.api.writes).toBe(1 + (10 * 60_000) / REPEAT_WRITE_MS);
    expect(h.api.events.size).toBe(1);
  });
});

describe('PodWarnings: one Event per pod', () => {
  it('repeated refusals of one pod raise one Event’s count; the second write only after REPEAT_WRITE_MS', () => {
    const h = new Harness();
    h.refuse('pod-a', 'first message');
    const firstAt = h.nowMs;
    expect(h.flush()).toMatchObject([{ name: 'pod-a', count: 1, message: 'first message', reason: REASON, uid: 'uid-pod-a' }]);
    for (let i = 0; i < 5; i += 1) {
      h.advance(1_000);
      h.refuse('pod-a', `message ${i}`);
      expect(h.flush()).toEqual([]);
    }
    h.nowMs = firstAt + REPEAT_WRITE_MS - 1;
    expect(h.flush()).toEqual([]);
    h.nowMs = firstAt + REPEAT_WRITE_MS;
    const [second] = h.flush();
    expect(second).toMatchObject({ name: 'pod-a', count: 6, message: 'message 4' });
    expect(second?.firstTime).toEqual(new Date(firstAt));
    expect(second?.lastTime).toEqual(new Date(firstAt + 5_000));
    expect(h.api.events.size).toBe(1);
    expect(h.api.countsByPod()).toEqual({ 'default/pod-a': 6 });
  });

  it('the second write updates the Event the first created', () => {
    const h = new Harness();
    h.refuse('pod-a');
    h.flush();
    const [name] = h.api.events.keys();
    h.advance(REPEAT_WRITE_MS);
    h.refuse('pod-a');
    const due = h.warnings.due(h.nowMs);
    expect(due).toHaveLength(1);
    expect(due[0]?.eventName).toBe(name);
  });

  it('nothing is written again when no refusal came since the last write', () => {
    const h = new Harness();
    h.refuse('pod-a');
    h.flush();
    h.advance(REPEAT_WRITE_MS * 3);
    expect(h.flush()).toEqual([]);
  });

  it('the same pod name in two namespaces, or two reasons, are separate Events', () => {
    const h = new Harness();
    h.refuse('pod-a', 'm', 'team-1');
    h.refuse('pod-a', 'm', 'team-2');
    h.warnings.refused({ namespace: 'team-1', name: 'pod-a' }, 'OtherReason', 'm', h.nowMs);
    expect(h.flush()).toHaveLength(3);
    expect(h.api.events.size).toBe(3);
  });

  it('refusals during a write in flight are written after it, with the count the API lacks', () => {
    const h = new Harness();
    h.refuse('pod-a');
    const [inFlight] = h.warnings.due(h.nowMs);
    h.refuse('pod-a');
    h.refuse('pod-a');
    expect(h.warnings.due(h.nowMs)).toEqual([]); // not twice at once
    h.warnings.written(inFlight?.key ?? '', 1, h.api.write(inFlight?.warning as PodWarning, undefined), h.nowMs);
    h.advance(REPEAT_WRITE_MS);
    expect(h.flush()).toMatchObject([{ name: 'pod-a', count: 3 }]);
    expect(h.api.countsByPod()).toEqual({ 'default/pod-a': 3 });
  });
});

describe('PodWarnings.forget', () => {
  it('nothing more is written about a forgotten pod; other pods are kept', () => {
    const h = new Harness();
    h.refuse('pod-a');
    h.refuse('pod-ab');
    h.refuse('pod-a', 'm', 'other-namespace');
    h.warnings.forget({ namespace: 'default', name: 'pod-a' });
    expect(h.flush().map((w) => `${w.namespace}/${w.name}`)).toEqual(['default/pod-ab', 'other-namespace/pod-a']);
  });

  it('a forgotten pod refused again starts a new Event', () => {
    const h = new Harness();
    h.refuse('pod-a');
    h.flush();
    h.warnings.forget({ namespace: 'default', name: 'pod-a' });
    h.advance(1_000);
    h.refuse('pod-a');
    const due = h.warnings.due(h.nowMs);
    expect(due).toHaveLength(1);
    expect(due[0]?.eventName).toBeUndefined();
    expect(due[0]?.warning.count).toBe(1);
  });

  it('a write that ends after its pod was forgotten does not touch a new pod of the same name', () => {
    const h = new Harness();
    h.refuse('pod-a');
    const [inFlight] = h.warnings.due(h.nowMs);
    h.warnings.forget({ namespace: 'default', name: 'pod-a' });
    h.advance(500);
    h.refuse('pod-a', 'the new pod');
    // The old pod's write comes back now.
    h.warnings.written(inFlight?.key ?? '', 1, 'old-pod-event', h.nowMs);
    const due = h.warnings.due(h.nowMs);
    expect(due).toHaveLength(1);
    expect(due[0]?.eventName).toBeUndefined();
    expect(due[0]?.warning).toMatchObject({ name: 'pod-a', count: 1, message: 'the new pod' });
  });

  it('a pod not refused again for over an hour is forgotten: its next refusal is a new Event', () => {
    const h = new Harness();
    h.refuse('pod-a');
    h.flush();
    h.advance(HOUR_MS + 1);
    expect(h.flush()).toEqual([]); // the sweep
    h.refuse('pod-a');
    const due = h.warnings.due(h.nowMs);
    expect(due[0]?.eventName).toBeUndefined();
    expect(due[0]?.warning.count).toBe(1);
  });
});

describe('PodWarnings: failed writes', () => {
  it('a failed first write is retried after REPEAT_WRITE_MS (not every tick), and creates the Event then', () => {
    const h = new Harness();
    h.refuse('pod-a');
    h.api.failing = true;
    expect(h.flush()).toHaveLength(1);
    expect(h.api.events.size).toBe(0);
    h.api.failing = false;
    h.advance(1_000);
    expect(h.warnings.due(h.nowMs)).toEqual([]);
    h.advance(REPEAT_WRITE_MS);
    const due = h.warnings.due(h.nowMs);
    expect(due).toMatchObject([{ eventName: undefined, warning: { name: 'pod-a', count: 1 } }]);
  });

  it('a failed update is retried with the Event it updates, and the count the API lacks', () => {
    const h = new Harness();
    h.refuse('pod-a');
    h.flush();
    const [name] = h.api.events.keys();
    h.advance(REPEAT_WRITE_MS);
    h.refuse('pod-a');
    h.api.failing = true;
    h.flush();
    h.api.failing = false;
    h.advance(REPEAT_WRITE_MS);
    h.refuse('pod-a');
    const due = h.warnings.due(h.nowMs);
    expect(due).toMatchObject([{ eventName: name, warning: { count: 3 } }]);
  });

  it('retries spend the budget too: an API that keeps failing gets the refill rate, not a loop', () => {
    const h = new Harness();
    for (let i = 0; i < 30; i += 1) h.refuse(`pod-${i}`);
    h.api.failing = true;
    for (let t = 0; t < 60_000; t += 100) {
      h.flush();
      h.advance(100);
    }
    expect(h.api.writes).toBeLessThanOrEqual(EVENT_BUDGET.capacity + 60 * EVENT_BUDGET.refillPerSecond);
  });
});

describe('PodWarnings.nextDueMs', () => {
  it('undefined while nothing waits', () => {
    const h = new Harness();
    expect(h.warnings.nextDueMs(h.nowMs)).toBeUndefined();
    h.refuse('pod-a');
    h.flush();
    expect(h.warnings.nextDueMs(h.nowMs)).toBeUndefined();
  });

  it('now for a new refusal while the budget has a write', () => {
    const h = new Harness();
    h.refuse('pod-a');
    expect(h.warnings.nextDueMs(h.nowMs)).toBe(h.nowMs);
  });

  it('undefined while the only pending warning is being written', () => {
    const h = new Harness();
    h.refuse('pod-a');
    h.warnings.due(h.nowMs);
    expect(h.warnings.nextDueMs(h.nowMs)).toBeUndefined();
  });

  it('REPEAT_WRITE_MS after the last write for a repeat', () => {
    const h = new Harness();
    h.refuse('pod-a');
    const writtenAt = h.nowMs;
    h.flush();
    h.advance(2_000);
    h.refuse('pod-a');
    expect(h.warnings.nextDueMs(h.nowMs)).toBe(writtenAt + REPEAT_WRITE_MS);
  });

  it('when the budget next has a write, once the burst is spent; and due() then returns one', () => {
    const h = new Harness();
    for (let i = 0; i <= EVENT_BUDGET.capacity; i += 1) h.refuse(`pod-${i}`);
    h.flush();
    const next = h.warnings.nextDueMs(h.nowMs);
    expect(next).toBe(h.nowMs + 1000 / EVENT_BUDGET.refillPerSecond);
    h.nowMs = (next ?? 0) - 1;
    expect(h.flush()).toEqual([]);
    h.nowMs = next ?? 0;
    expect(h.flush()).toHaveLength(1);
  });
});
