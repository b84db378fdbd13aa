/**
 * What `nativeip trace record` writes, decided from what it observes of the cluster's pods. Pure:
 * plain pod observations in, trace events out, time passed in.
 *
 * A pod that uses the pod network gets an `add` when it is bound to a node (pods already running
 * when the recording starts get theirs at t = 0, so a replay starts with each node's pods), and a
 * `del` when it is deleted or reaches a terminal phase (Succeeded, Failed: the runtime releases
 * its address then), whichever comes first. Host-network pods take no address and are skipped.
 *
 * Each pod (by uid) gets at most one `add` and one `del`, however often it is observed: the
 * watch relists after every break and on every resync, reporting each pod again, and the
 * recorder compares against what it has already written. A relist reports what changed
 * meanwhile: pods that appeared (an `add`), and pods that finished or vanished (a `del`). A pod
 * first seen already finished gets nothing: its whole life fell outside the watch (before the
 * recording began, or during a break), so it held no address while the trace can say.
 */
import type { TraceEvent } from '../sim/traces.js';

/** One pod as the recorder needs it, taken from the API object by the watch (src/kube). */
export interface PodObservation {
  /** metadata.uid: a pod recreated under the same name is another pod. */
  readonly uid: string;
  /** `namespace/name`. */
  readonly pod: string;
  /** spec.nodeName; '' while unscheduled. */
  readonly node: string;
  readonly hostNetwork: boolean;
  /** status.phase is Succeeded or Failed. */
  readonly terminal: boolean;
}

/** Which nodes' pods are recorded. */
export type NodeFilter =
  | { readonly kind: 'all' }
  | { readonly kind: 'names'; readonly names: readonly string[] }
  /** Nodes matching a label selector: the watch reports them; once matched, a node stays recorded. */
  | { readonly kind: 'labels'; readonly selector: string };

/**
 * The cluster as the recorder sees it (consumer-owned; src/kube implements it over a list-watch
 * that relists after any break).
 */
export interface PodSource {
  /** Where the pods are read from, for the operator (e.g. the API server's URL). */
  readonly description: string;
  /**
   * One request that proves access (list pods, and nodes when filtering by label), so a bad
   * kubeconfig, an unreachable server or missing RBAC fails at once. Throws naming the cause.
   */
  check(): Promise<void>;
  /** Starts the watches; events arrive until close(). Call once. */
  start(events: PodSourceEvents): void;
  /** The pods the watch holds now (to re-examine a node's pods when the node becomes selected). */
  pods(): readonly PodObservation[];
  /** Stops the watches. Idempotent. */
  close(): Promise<void>;
}

export interface PodSourceEvents {
  /** A pod appeared or changed, or was listed again. */
  pod(pod: PodObservation): void;
  /** A pod was deleted (or was found missing by a relist); its last known state. */
  podGone(pod: PodObservation): void;
  /** A node matching the label selector was listed or appeared (label filter only). */
  node(name: string): void;
  /** Every watch holds a current copy (true), or one broke and is relisting (false). */
  synced(synced: boolean): void;
}

interface LivePod {
  readonly node: string;
  readonly pod: string;
  readonly addedAt: number;
}

/** The smallest step of `t` in the file (millisecond precision). */
export const TRACE_TICK_SEC = 0.001;

const roundTick = (t: number): number => Math.round(t * 1000) / 1000;

/**
 * The recorder's state: which pods have an `add` without a `del`, and which ended. Feed it every
 * observation; it returns the events to append, already in file order with `t` never going back.
 */
export class TraceRecorder {
  readonly #filter: NodeFilter;
  readonly #selected = new Set<string>();
  /** uid → the pod's `add`, for pods added and not yet deleted. */
  readonly #live = new Map<string, LivePod>();
  /** `node pod` → uid of the live pod by that name, so a recreated pod never overlaps its predecessor. */
  readonly #liveByName = new Map<string, string>();
  /** uids that got their `del`, kept until the object is gone so a relist adds them no second time. */
  readonly #ended = new Set<string>();
  readonly #skippedHostNetwork = new Set<string>();
  readonly #nodesInTrace = new Set<string>();
  #origin: number | undefined;
  #lastT = 0;
  #adds = 0;
  #dels = 0;

  constructor(filter: NodeFilter) {
    this.#filter = filter;
    if (filter.kind === 'names') for (const name of filter.names) this.#selected.add(name);
  }

  /** True once the first full listing is in: from then on `t` counts from that moment. */
  get started(): boolean {
    return this.#origin !== undefined;
  }

  /**
   * The first full listing is in (every watch synced): the pods recorded so far were running at
   * the start (t = 0), and `t` now counts from `nowSec`. Later calls do nothing.
   */
  begin(nowSec: number): void {
    this.#origin ??= nowSec;
  }

  /** Seconds since {@link begin} (0 before it). */
  elapsed(nowSec: number): number {
    return this.#origin === undefined ? 0 : Math.max(0, nowSec - this.#origin);
  }

  /**
   * A node matched the label selector: records its pods from now on. Returns true when it was
   * not selected before (the caller then re-observes the node's pods).
   */
  selectNode(name: string): boolean {
    if (this.#filter.kind !== 'labels' || this.#selected.has(name)) return false;
    this.#selected.add(name);
    return true;
  }

  /** A pod was listed, added or changed. Idempotent. */
  observe(pod: PodObservation, nowSec: number): TraceEvent[] {
    const live = this.#live.get(pod.uid);
    if (live !== undefined) return pod.terminal ? [this.#del(pod.uid, live, nowSec)] : [];
    if (pod.node === '' || !this.#nodeSelected(pod.node)) return [];
    if (pod.hostNetwork) {
      this.#skippedHostNetwork.add(pod.uid);
      return [];
    }
    if (this.#ended.has(pod.uid) || pod.terminal) return [];
    const events: TraceEvent[] = [];
    // Two live pods of one name on one node cannot be replayed: the older one is gone by now.
    const key = `${pod.node} ${pod.pod}`;
    const predecessor = this.#liveByName.get(key);
    const before = predecessor === undefined ? undefined : this.#live.get(predecessor);
    if (predecessor !== undefined && before !== undefined) events.push(this.#del(predecessor, before, nowSec));
    const t = this.#time(nowSec, 0);
    this.#live.set(pod.uid, { node: pod.node, pod: pod.pod, addedAt: t });
    this.#liveByName.set(key, pod.uid);
    this.#nodesInTrace.add(pod.node);
    this.#adds += 1;
    events.push({ t, node: pod.node, pod: pod.pod, op: 'add' });
    return events;
  }

  /** A pod was deleted, or a relist found it missing. Idempotent. */
  gone(pod: PodObservation, nowSec: number): TraceEvent[] {
    const live = this.#live.get(pod.uid);
    const events = live === undefined ? [] : [this.#del(pod.uid, live, nowSec)];
    // A deleted object never comes back under its uid: nothing more to remember of it.
    this.#ended.delete(pod.uid);
    return events;
  }

  stats(): TraceStats {
    return {
      events: this.#adds + this.#dels,
      adds: this.#adds,
      dels: this.#dels,
      livePods: this.#live.size,
      nodes: this.#nodesInTrace.size,
      skippedHostNetwork: this.#skippedHostNetwork.size,
    };
  }

  #del(uid: string, live: LivePod, nowSec: number): TraceEvent {
    this.#live.delete(uid);
    const key = `${live.node} ${live.pod}`;
    if (this.#liveByName.get(key) === uid) this.#liveByName.delete(key);
    this.#ended.add(uid);
    this.#dels += 1;
    // Strictly after its add: at equal t a replay takes the del first and the pod would never end.
    return { t: this.#time(nowSec, live.addedAt + TRACE_TICK_SEC), node: live.node, pod: live.pod, op: 'del' };
  }

  /** The event's `t`: seconds since begin() (0 before), at least `floor`, never before the last one written. */
  #time(nowSec: number, floor: number): number {
    const t = roundTick(Math.max(this.elapsed(nowSec), floor, this.#lastT));
    this.#lastT = t;
    return t;
  }

  #nodeSelected(node: string): boolean {
    return this.#filter.kind === 'all' || this.#selected.has(node);
  }
}

export interface TraceStats {
  /** Lines written: `adds + dels`. */
  readonly events: number;
  readonly adds: number;
  readonly dels: number;
  /** Pods with an `add` and no `del` yet. */
  readonly livePods: number;
  /** Distinct nodes with at least one `add`. */
  readonly nodes: number;
  /** Distinct host-network pods seen on the recorded nodes (and left out). */
  readonly skippedHostNetwork: number;
}

/** One line of the JSONL trace (without the newline), as src/sim/traces.ts's traceToJsonl writes it. */
export function formatTraceLine(event: TraceEvent): string {
  return JSON.stringify({ t: roundTick(event.t), node: event.node, pod: event.pod, op: event.op });
}
