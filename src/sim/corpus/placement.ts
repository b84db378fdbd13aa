/**
 * Turns pod intents (when a pod is created, how long it runs, where it would like to run) into a
 * trace a real cluster could produce: the scheduler places each pod on a node with room (its
 * preferred node, else the least loaded), a pod that finds every node full waits pending and starts
 * as soon as a pod ends (so a batch wave larger than the nodes' capacity runs in turns), and a
 * cordoned node takes no pod while its own are evicted and recreated elsewhere (a drain). Pure.
 */
import { sortEvents, type Trace, type TraceEvent } from '../traces.js';

export interface PodIntent {
  /** Seconds from the trace's start when the pod is created. */
  readonly t: number;
  /** Seconds it runs once started; Infinity: until the trace ends. */
  readonly lifetimeSec: number;
  /** Index of the node it would like (a Deployment's spread); undefined: the least loaded. */
  readonly node?: number;
  /** Name stem, e.g. `web`; made unique by the builder. */
  readonly name?: string;
}

export interface Cordon {
  readonly node: number;
  /** Seconds: from here the node takes no pod and its pods are evicted. */
  readonly fromSec: number;
  /** Seconds: the node is schedulable again. */
  readonly toSec: number;
}

export interface PlacementOptions {
  readonly nodes: number;
  /** Pods a node runs at most (max pods less the host-network ones). */
  readonly capacity: number;
  readonly durationSec: number;
  readonly cordons?: readonly Cordon[];
  /** Seconds between an eviction and its replacement pod's creation (the controller's reaction). */
  readonly evictionDelaySec?: number;
}

interface Running {
  readonly pod: string;
  readonly node: number;
  readonly end: number;
  readonly intent: PodIntent;
  readonly started: number;
}

export function placePods(name: string, description: string, intents: readonly PodIntent[], options: PlacementOptions): Trace {
  const events: TraceEvent[] = [];
  const live: Running[][] = Array.from({ length: options.nodes }, () => []);
  const pending: PodIntent[] = [];
  const queue = [...intents].sort((a, b) => a.t - b.t);
  const cordons = [...(options.cordons ?? [])].sort((a, b) => a.fromSec - b.fromSec);
  const evictionDelay = options.evictionDelaySec ?? 3;
  let counter = 0;
  const nodeName = (n: number) => `node-${n + 1}`;
  const cordoned = (n: number, t: number) => cordons.some((c) => c.node === n && c.fromSec <= t && t < c.toSec);
  const room = (n: number, t: number) => !cordoned(n, t) && live[n]!.length < options.capacity;

  const start = (intent: PodIntent, t: number): boolean => {
    const preferred = intent.node !== undefined && intent.node < options.nodes && room(intent.node, t) ? intent.node : undefined;
    let chosen = preferred;
    if (chosen === undefined) {
      for (let n = 0; n < options.nodes; n += 1) if (room(n, t) && (chosen === undefined || live[n]!.length < live[chosen]!.length)) chosen = n;
    }
    if (chosen === undefined) return false;
    const pod = `default/${intent.name ?? 'pod'}-${counter++}`;
    live[chosen]!.push({ pod, node: chosen, end: t + intent.lifetimeSec, intent, started: t });
    events.push({ t, node: nodeName(chosen), pod, op: 'add' });
    return true;
  };
  const end = (running: Running, t: number) => {
    const list = live[running.node]!;
    list.splice(list.indexOf(running), 1);
    events.push({ t, node: nodeName(running.node), pod: running.pod, op: 'del' });
  };
  /** The next pod to end, over every node. */
  const nextEnd = (): Running | undefined => {
    let next: Running | undefined;
    for (const list of live) for (const r of list) if (next === undefined || r.end < next.end) next = r;
    return next;
  };
  const startPending = (t: number) => {
    while (pending.length > 0 && start(pending[0]!, t)) pending.shift();
  };

  let cordonIndex = 0;
  const endings: number[] = cordons.map((c) => c.toSec);
  for (;;) {
    const arrival = queue[0]?.t ?? Infinity;
    const ending = nextEnd();
    const cordonAt = cordons[cordonIndex]?.fromSec ?? Infinity;
    const uncordonAt = Math.min(...endings.filter((e) => e > -1), Infinity);
    const t = Math.min(arrival, ending?.end ?? Infinity, cordonAt, uncordonAt);
    if (t >= options.durationSec || t === Infinity) break;
    if (ending !== undefined && ending.end === t) {
      end(ending, t);
      startPending(t);
    } else if (cordonAt === t) {
      const cordon = cordons[cordonIndex++]!;
      // Evicted pods are recreated, with the rest of their life, after the controller reacts.
      for (const running of [...live[cordon.node]!]) {
        end(running, t);
        const rest = running.intent.lifetimeSec === Infinity ? Infinity : Math.max(1, running.end - t);
        queue.push({ t: t + evictionDelay, lifetimeSec: rest, ...(running.intent.name === undefined ? {} : { name: running.intent.name }) });
      }
      queue.sort((a, b) => a.t - b.t);
    } else if (uncordonAt === t) {
      endings[endings.indexOf(t)] = -1;
      startPending(t);
    } else {
      const intent = queue.shift()!;
      // Pods created while others wait join the back of the queue (the scheduler is FIFO here).
      if (pending.length > 0 || !start(intent, t)) pending.push(intent);
    }
  }
  return { name, description, durationSec: options.durationSec, events: sortEvents(events) };
}
