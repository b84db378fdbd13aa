/**
 * TraceRecorder (src/cli/trace-recorder.ts): what `nativeip trace record` writes for each pod
 * observation — t = 0 for the pods found running, one add and one del per pod however often a
 * relist reports it, terminal phases, host-network pods, node filters, t never going back.
 */
import { describe, expect, it } from 'vitest';
import { formatTraceLine, TraceRecorder, type NodeFilter, type PodObservation } from '../../src/cli/trace-recorder.js';
import { traceFromJsonl, type TraceEvent } from '../../src/sim/traces.js';

const ALL: NodeFilter = { kind: 'all' };

const pod = (name: string, extra: Partial<PodObservation> = {}): PodObservation => ({
  uid: `uid-${name}`,
  pod: `default/${name}`,
  node: 'node-a',
  hostNetwork: false,
  terminal: false,
  ...extra,
});

const brief = (events: readonly TraceEvent[]) => events.map((e) => `${e.t} ${e.op} ${e.node} ${e.pod}`);

/** A recorder whose initial listing held `initial`, begun at `at` seconds. */
function started(initial: readonly PodObservation[], at = 100, filter: NodeFilter = ALL): { recorder: TraceRecorder; events: TraceEvent[] } {
  const recorder = new TraceRecorder(filter);
  const events = initial.flatMap((p) => recorder.observe(p, at - 0.4));
  recorder.begin(at);
  return { recorder, events };
}

describe('TraceRecorder', () => {
  it('adds the pods running at the start at t = 0, and counts t from begin()', () => {
    const { recorder, events } = started([pod('a'), pod('b', { node: 'node-b' })], 100);
    expect(brief(events)).toEqual(['0 add node-a default/a', '0 add node-b default/b']);
    expect(recorder.started).toBe(true);
    expect(brief(recorder.observe(pod('c'), 112.3456))).toEqual(['12.346 add node-a default/c']);
    expect(brief(recorder.gone(pod('a'), 130))).toEqual(['30 del node-a default/a']);
    expect(recorder.stats()).toEqual({ events: 4, adds: 3, dels: 1, livePods: 2, nodes: 2, skippedHostNetwork: 0 });
  });

  it('leaves out pods that already finished when first seen, and unscheduled pods until bound', () => {
    const { recorder, events } = started([pod('done', { terminal: true }), pod('pending', { node: '' })]);
    expect(events).toEqual([]);
    expect(brief(recorder.observe(pod('pending'), 105))).toEqual(['5 add node-a default/pending']);
    expect(recorder.observe(pod('done', { terminal: true }), 106)).toEqual([]);
    expect(recorder.gone(pod('done', { terminal: true }), 107)).toEqual([]);
  });

  it('ends a pod at its terminal phase, and writes nothing more when it is deleted', () => {
    const { recorder } = started([pod('job')]);
    expect(recorder.observe(pod('job'), 110)).toEqual([]);
    expect(brief(recorder.observe(pod('job', { terminal: true }), 120))).toEqual(['20 del node-a default/job']);
    expect(recorder.observe(pod('job', { terminal: true }), 121)).toEqual([]);
    expect(recorder.gone(pod('job', { terminal: true }), 130)).toEqual([]);
    expect(recorder.stats()).toMatchObject({ adds: 1, dels: 1, livePods: 0 });
  });

  it('skips host-network pods, counting each once', () => {
    const { recorder, events } = started([pod('kube-proxy', { hostNetwork: true })]);
    expect(events).toEqual([]);
    expect(recorder.observe(pod('kube-proxy', { hostNetwork: true }), 110)).toEqual([]);
    expect(recorder.observe(pod('agent', { hostNetwork: true, node: 'node-b' }), 111)).toEqual([]);
    expect(recorder.gone(pod('kube-proxy', { hostNetwork: true }), 112)).toEqual([]);
    expect(recorder.stats()).toMatchObject({ events: 0, skippedHostNetwork: 2 });
  });

  describe('relist reconciliation', () => {
    it('a relist reporting every pod again writes nothing', () => {
      const pods = [pod('a'), pod('b'), pod('c', { node: 'node-b' })];
      const { recorder } = started(pods);
      const again = [...pods, ...pods].flatMap((p) => recorder.observe(p, 200));
      expect(again).toEqual([]);
      expect(recorder.stats()).toMatchObject({ adds: 3, dels: 0, livePods: 3 });
    });

    it('a relist after a break writes what changed meanwhile, once', () => {
      const { recorder } = started([pod('stays'), pod('deleted'), pod('finished'), pod('ended-earlier')]);
      recorder.observe(pod('ended-earlier', { terminal: true }), 110);
      // The break: meanwhile `deleted` was deleted, `finished` succeeded, `new` started and
      // `short` started and ended. The relist reports what the server holds, then what vanished.
      const listed = [pod('stays'), pod('finished', { terminal: true }), pod('new'), pod('short', { terminal: true }), pod('ended-earlier', { terminal: true })];
      const relist = () => [...listed.flatMap((p) => recorder.observe(p, 150)), ...recorder.gone(pod('deleted'), 150)];
      expect(brief(relist())).toEqual(['50 del node-a default/finished', '50 add node-a default/new', '50 del node-a default/deleted']);
      // The next resync lists the same again: nothing new.
      expect(relist()).toEqual([]);
      expect(recorder.stats()).toMatchObject({ adds: 5, dels: 3, livePods: 2 });
    });

    it('a pod recreated under the same name on the same node ends its predecessor first', () => {
      const { recorder } = started([pod('web-0')]);
      const events = recorder.observe(pod('web-0', { uid: 'uid-web-0-second' }), 120);
      expect(brief(events)).toEqual(['20 del node-a default/web-0', '20 add node-a default/web-0']);
      // The old object's deletion arriving afterwards changes nothing; the new one's ends it.
      expect(recorder.gone(pod('web-0'), 121)).toEqual([]);
      expect(brief(recorder.gone(pod('web-0', { uid: 'uid-web-0-second' }), 122))).toEqual(['22 del node-a default/web-0']);
    });
  });

  it('never lets t go back, and puts a del after its add even within one millisecond', () => {
    const recorder = new TraceRecorder(ALL);
    recorder.observe(pod('a'), 10);
    // Deleted while the first listing is still being completed: the del cannot share t = 0.
    expect(brief(recorder.gone(pod('a'), 10.2))).toEqual(['0.001 del node-a default/a']);
    recorder.begin(11);
    expect(brief(recorder.observe(pod('b'), 11))).toEqual(['0.001 add node-a default/b']);
    expect(brief(recorder.gone(pod('b'), 11.0001))).toEqual(['0.002 del node-a default/b']);
    // A clock read that went back (never with a monotonic clock, but the file must stay sorted).
    expect(brief(recorder.observe(pod('c'), 5))).toEqual(['0.002 add node-a default/c']);
  });

  it('records only the named nodes', () => {
    const { recorder, events } = started([pod('a'), pod('b', { node: 'node-b' }), pod('c', { node: 'node-c' })], 100, { kind: 'names', names: ['node-a', 'node-c'] });
    expect(brief(events)).toEqual(['0 add node-a default/a', '0 add node-c default/c']);
    expect(recorder.gone(pod('b', { node: 'node-b' }), 101)).toEqual([]);
    expect(recorder.selectNode('node-b')).toBe(false);
    // Host-network pods elsewhere are not counted as skipped.
    recorder.observe(pod('proxy-b', { node: 'node-b', hostNetwork: true }), 102);
    recorder.observe(pod('proxy-c', { node: 'node-c', hostNetwork: true }), 102);
    expect(recorder.stats()).toMatchObject({ skippedHostNetwork: 1, nodes: 2 });
  });

  it('with a label filter, records a node from when it matches; it stays recorded', () => {
    const { recorder, events } = started([pod('a'), pod('b', { node: 'node-b' })], 100, { kind: 'labels', selector: 'pool=web' });
    expect(events).toEqual([]);
    expect(recorder.selectNode('node-a')).toBe(true);
    expect(recorder.selectNode('node-a')).toBe(false);
    expect(brief(recorder.observe(pod('a'), 101))).toEqual(['1 add node-a default/a']);
    expect(recorder.observe(pod('b', { node: 'node-b' }), 102)).toEqual([]);
    expect(brief(recorder.gone(pod('a'), 103))).toEqual(['3 del node-a default/a']);
  });

  it('writes lines traceFromJsonl reads back, in the same order', () => {
    const { recorder, events } = started([pod('a'), pod('b')]);
    events.push(...recorder.observe(pod('c'), 101.5), ...recorder.gone(pod('a'), 102.25), ...recorder.observe(pod('b', { terminal: true }), 103));
    const lines = events.map(formatTraceLine);
    expect(lines[0]).toBe('{"t":0,"node":"node-a","pod":"default/a","op":"add"}');
    const trace = traceFromJsonl('recorded', `${lines.join('\n')}\n`);
    expect(trace.events).toEqual(events);
  });
});
