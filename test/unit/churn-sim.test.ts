import { describe, expect, it } from 'vitest';
import { burstTrace, diurnalTrace, steadyTrace, traceFromJsonl, traceToJsonl } from '../../src/sim/traces.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';

describe('churn traces', () => {
  it.each([
    ['steady', () => steadyTrace({ nodes: 2, hours: 2 })],
    ['diurnal', () => diurnalTrace({ nodes: 2, hours: 2 })],
    ['burst', () => burstTrace({ nodes: 2, replicas: 10, cycles: 1 })],
  ])('%s is deterministic, sorted, and every del follows its add', (_name, make) => {
    const a = make();
    expect(make().events).toEqual(a.events);
    const added = new Set<string>();
    let last = 0;
    for (const e of a.events) {
      expect(e.t).toBeGreaterThanOrEqual(last);
      last = e.t;
      const key = `${e.node}/${e.pod}`;
      if (e.op === 'add') added.add(key);
      else expect(added.has(key)).toBe(true);
    }
    expect(added.size).toBeGreaterThan(0);
  });

  it('round-trips through JSONL', () => {
    const trace = burstTrace({ nodes: 2, replicas: 8, cycles: 1 });
    const back = traceFromJsonl('x', traceToJsonl(trace));
    expect(back.events.map((e) => [e.node, e.pod, e.op])).toEqual(trace.events.map((e) => [e.node, e.pod, e.op]));
  });

  it('names every bad line of a JSONL trace', () => {
    const text = ['{"t":1,"node":"n","pod":"p","op":"add"}', 'nope', '{"t":-1,"node":"n","pod":"p","op":"add"}', '{"t":2,"node":"n","pod":"p","op":"stop"}'].join('\n');
    expect(() => traceFromJsonl('mine.jsonl', text)).toThrow(/mine\.jsonl: 3 bad line\(s\):[\s\S]*line 2: not JSON[\s\S]*line 3: "t" must be seconds[\s\S]*line 4: "op" must be/);
  });
});

describe('VirtualClock', () => {
  it('fires timers in time order and jumps the clock', async () => {
    const clock = new VirtualClock(0);
    const fired: Array<[string, number]> = [];
    void clock.sleep(300).then(() => fired.push(['b', clock.now()]));
    void clock.sleep(100).then(async () => {
      fired.push(['a', clock.now()]);
      await clock.sleep(500);
      fired.push(['c', clock.now()]);
    });
    await clock.runUntil(1_000);
    expect(fired).toEqual([['a', 100], ['b', 300], ['c', 600]]);
    expect(clock.now()).toBe(1_000);
  });

  it('leaves timers beyond the horizon pending', async () => {
    const clock = new VirtualClock(0);
    let done = false;
    void clock.sleep(5_000).then(() => (done = true));
    await clock.runUntil(4_999);
    expect(done).toBe(false);
    await clock.runUntil(5_000);
    expect(done).toBe(true);
  });
});
