/**
 * Pod arrival/departure traces: three generators and a JSONL reader/writer so users can replay
 * their own cluster's history.
 *
 * JSONL format, one event per line, sorted by time:
 *   {"t": 12.5, "node": "node-1", "pod": "default/web-7", "op": "add"}
 *   {"t": 300.0, "node": "node-1", "pod": "default/web-7", "op": "del"}
 * `t` is seconds from the start of the trace; `node` any stable name; `pod` unique among live
 * pods of that node; `op` is `add` or `del`. A `del` for a pod that is not running is ignored.
 */
import { seededRandom } from '../core/seeded-random.js';
export interface TraceEvent {
  readonly t: number;
  readonly node: string;
  readonly pod: string;
  readonly op: 'add' | 'del';
}

export interface Trace {
  readonly name: string;
  readonly description: string;
  readonly durationSec: number;
  readonly events: readonly TraceEvent[];
}

/** Deterministic pseudo-random numbers, so every policy replays the same trace. */
export { seededRandom };

function exponential(random: () => number, mean: number): number {
  return -Math.log(1 - random()) * mean;
}

interface PoissonChurnOptions {
  readonly nodes: number;
  readonly durationSec: number;
  /** Pod arrivals per second per node at time t. */
  readonly rate: (t: number) => number;
  readonly meanLifetimeSec: number;
  /** Pods running on each node at t = 0 (they arrive in the first seconds). */
  readonly initialPods: number;
  readonly maxPodsPerNode: number;
  readonly seed: number;
}

function poissonChurn(name: string, description: string, o: PoissonChurnOptions): Trace {
  const random = seededRandom(o.seed);
  const events: TraceEvent[] = [];
  for (let n = 1; n <= o.nodes; n += 1) {
    const node = `node-${n}`;
    const live: Array<{ pod: string; until: number }> = [];
    let counter = 0;
    const start = (t: number) => {
      live.sort((a, b) => a.until - b.until);
      while (live.length > 0 && live[0]!.until <= t) {
        const gone = live.shift()!;
        events.push({ t: gone.until, node, pod: gone.pod, op: 'del' });
      }
      if (live.length >= o.maxPodsPerNode) return;
      const pod = `default/${node}-pod-${counter++}`;
      events.push({ t, node, pod, op: 'add' });
      live.push({ pod, until: t + exponential(random, o.meanLifetimeSec) });
    };
    for (let i = 0; i < o.initialPods; i += 1) start(random() * 5);
    // Thinning: draw at the peak rate, keep with probability rate(t)/peak.
    let peak = 0;
    for (let t = 0; t < o.durationSec; t += 60) peak = Math.max(peak, o.rate(t));
    let t = 5;
    while (peak > 0) {
      t += exponential(random, 1 / peak);
      if (t >= o.durationSec) break;
      if (random() * peak <= o.rate(t)) start(t);
    }
    for (const rest of live) if (rest.until < o.durationSec) events.push({ t: rest.until, node, pod: rest.pod, op: 'del' });
  }
  return { name, description, durationSec: o.durationSec, events: sortEvents(events) };
}

/** Steady churn: constant arrival rate, exponential lifetimes, ~15 pods per node. */
export function steadyTrace(options: { nodes?: number; hours?: number; seed?: number } = {}): Trace {
  const hours = options.hours ?? 24;
  return poissonChurn('steady', 'constant churn: 1 pod / 2 min / node, mean lifetime 30 min, 10 pods at start', {
    nodes: options.nodes ?? 10,
    durationSec: hours * 3600,
    rate: () => 1 / 120,
    meanLifetimeSec: 1800,
    initialPods: 10,
    maxPodsPerNode: 25,
    seed: options.seed ?? 1,
  });
}

/** Diurnal: arrivals follow a day curve, 8× busier at midday than at night. */
export function diurnalTrace(options: { nodes?: number; hours?: number; seed?: number } = {}): Trace {
  const hours = options.hours ?? 24;
  const rate = (t: number) => {
    const phase = ((t / 3600) % 24) / 24;
    return (1 / 600) * (1 + 7 * Math.max(0, Math.sin(Math.PI * phase)) ** 2);
  };
  return poissonChurn('diurnal', 'day curve: 1 pod / 10 min / node at night to 8× at midday, mean lifetime 40 min', {
    nodes: options.nodes ?? 10,
    durationSec: hours * 3600,
    rate,
    meanLifetimeSec: 2400,
    initialPods: 5,
    maxPodsPerNode: 25,
    seed: options.seed ?? 2,
  });
}

/**
 * Burst scale-up: a Deployment of `replicas` pods lands on a node group. The ReplicaSet controller
 * creates pods in slow-start batches (1, 2, 4, 8, …), the scheduler spreads them, and each kubelet
 * starts its share over a second or two. The deployment is scaled back to zero after `holdSec`,
 * and the whole cycle repeats `cycles` times, an hour apart.
 */
export function burstTrace(options: { nodes?: number; replicas?: number; cycles?: number; holdSec?: number; seed?: number } = {}): Trace {
  const nodes = options.nodes ?? 5;
  const replicas = options.replicas ?? 100;
  const cycles = options.cycles ?? 3;
  const holdSec = options.holdSec ?? 1200;
  const random = seededRandom(options.seed ?? 3);
  const events: TraceEvent[] = [];
  for (let cycle = 0; cycle < cycles; cycle += 1) {
    const start = 600 + cycle * 3600;
    let created = 0;
    let batch = 1;
    let batchStart = start;
    while (created < replicas) {
      for (let i = 0; i < batch && created < replicas; i += 1, created += 1) {
        const node = `node-${1 + ((created + cycle) % nodes)}`;
        const pod = `default/web-c${cycle}-${created}`;
        const t = batchStart + random() * 1.5;
        events.push({ t, node, pod, op: 'add' });
        events.push({ t: start + holdSec + random() * 30, node, pod, op: 'del' });
      }
      batch *= 2;
      batchStart += 0.2;
    }
  }
  return {
    name: 'burst',
    description: `${cycles} × a Deployment of ${replicas} pods on ${nodes} nodes (slow-start batches), held ${holdSec / 60} min, an hour apart`,
    durationSec: 600 + cycles * 3600,
    events: sortEvents(events),
  };
}

export function sortEvents(events: TraceEvent[]): TraceEvent[] {
  return events.sort((a, b) => a.t - b.t || (a.op === b.op ? 0 : a.op === 'del' ? -1 : 1));
}

export function traceToJsonl(trace: Trace): string {
  return trace.events.map((e) => JSON.stringify({ t: Number(e.t.toFixed(3)), node: e.node, pod: e.pod, op: e.op })).join('\n') + '\n';
}

/** Parses a JSONL trace; every bad line is reported with its line number. */
export function traceFromJsonl(name: string, text: string): Trace {
  const events: TraceEvent[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      problems.push(`line ${index + 1}: not JSON (${(error as Error).message})`);
      return;
    }
    const v = value as Record<string, unknown>;
    if (typeof v !== 'object' || v === null) return void problems.push(`line ${index + 1}: expected an object`);
    if (typeof v['t'] !== 'number' || !Number.isFinite(v['t']) || v['t'] < 0) return void problems.push(`line ${index + 1}: "t" must be seconds ≥ 0`);
    if (typeof v['node'] !== 'string' || v['node'] === '') return void problems.push(`line ${index + 1}: "node" must be a non-empty string`);
    if (typeof v['pod'] !== 'string' || v['pod'] === '') return void problems.push(`line ${index + 1}: "pod" must be a non-empty string`);
    if (v['op'] !== 'add' && v['op'] !== 'del') return void problems.push(`line ${index + 1}: "op" must be "add" or "del"`);
    events.push({ t: v['t'], node: v['node'], pod: v['pod'], op: v['op'] });
  });
  if (problems.length > 0) throw new Error(`trace ${name}: ${problems.length} bad line(s):\n  ${problems.slice(0, 20).join('\n  ')}`);
  const sorted = sortEvents(events);
  return { name, description: `replayed from ${name}`, durationSec: Math.ceil((sorted.at(-1)?.t ?? 0) + 60), events: sorted };
}

/**
 * Cluster scale-up: `nodes` new nodes each receive `podsPerNode` pods, arriving from `startSec`
 * over `spreadSec` seconds (the scheduler binds pods as nodes become ready).
 */
export function scaleUpTrace(options: { nodes: number; podsPerNode: number; startSec?: number; spreadSec?: number; seed?: number }): Trace {
  const random = seededRandom(options.seed ?? 4);
  const start = options.startSec ?? 60;
  const spread = options.spreadSec ?? 30;
  const events: TraceEvent[] = [];
  for (let n = 1; n <= options.nodes; n += 1) {
    for (let p = 0; p < options.podsPerNode; p += 1) {
      events.push({ t: start + random() * spread, node: `node-${n}`, pod: `default/app-${n}-${p}`, op: 'add' });
    }
  }
  return {
    name: 'scale-up',
    description: `${options.nodes} new nodes × ${options.podsPerNode} pods, arriving from ${start} s over ${spread} s`,
    durationSec: start + spread,
    events: sortEvents(events),
  };
}
