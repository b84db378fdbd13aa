/**
 * The daemon's side of the cluster: keeps the pool within the pods the Node may run, releases a
 * pod's address as soon as the API says the pod is gone, tells the scheduler (Node condition and
 * taint) when the node cannot give addresses, keeps the NativeipNode status, and writes Warning
 * Events for refused pods. Every write is coalesced and none is ever on the path of ADD or DEL:
 * with the API server away, the node keeps serving and the agent catches up when it returns.
 */
import type { Logger } from 'pino';
import { DEFAULT_AVAILABILITY_POLICY, INITIAL_AVAILABILITY, evaluateAvailability, type AvailabilityMemory, type NodeAvailability } from '../../core/node-availability.js';
import type { CloudCallCounter } from '../pool/cloud-call-counter.js';
import type { LivePodAddresses } from '../service/held-addresses.js';
import type { PoolManager } from '../pool/pool-manager.js';
import type { StatusResult } from '../../rpc/protocol.js';
import type { ClusterPort, NativeipNodeStatus } from './cluster-port.js';
import { buildNodeStatus, shouldWriteStatus } from './node-status.js';
import { PodWarnings } from './pod-warnings.js';

export interface ClusterAgentOptions {
  readonly port: ClusterPort;
  readonly pool: PoolManager;
  /** The IPAM service's status (the same STATUS the plugin and CLI see). */
  readonly status: () => StatusResult;
  /** Releases the addresses of pods whose network namespace is gone (the reconcile's first step). */
  readonly releaseEndedPods: () => Promise<unknown>;
  /** Holds the addresses the API shows live pods using that no allocation records (a lost checkpoint). */
  readonly holdLivePodAddresses: (pods: readonly LivePodAddresses[]) => void;
  readonly cloudCalls: CloudCallCounter;
  readonly logger: Logger;
  /** `NATIVEIP_TAINT_EXHAUSTED_NODES`. */
  readonly taint: boolean;
  readonly clock?: () => number;
  /** How often the agent looks at the pool between cluster events. Default 1 s. */
  readonly tickMs?: number;
}

/** After a failed write, the next one waits this long, doubling up to {@link MAX_RETRY_MS}. */
const MIN_RETRY_MS = 1_000;
const MAX_RETRY_MS = 60_000;
/** Event reason of a pod refused for want of an address. */
export const NO_ADDRESS_EVENT_REASON = 'NoAddressAvailable';

export class ClusterAgent {
  readonly #options: ClusterAgentOptions;
  readonly #clock: () => number;
  readonly #warnings: PodWarnings;
  readonly #policy;
  #memory: AvailabilityMemory = INITIAL_AVAILABILITY;
  #written: NodeAvailability | undefined;
  /** The availability last computed, and since when it has held (the condition is written once it held settleMs). */
  #candidate: { availability: NodeAvailability; sinceMs: number } | undefined;
  #status: { status: NativeipNodeStatus; atMs: number } | undefined;
  #lastFailure: NativeipNodeStatus['lastFailure'];
  #capacity: number | undefined;
  /** True once the Node was seen: the taint an earlier daemon left is then taken as ours, not written afresh. */
  #seeded = false;
  #timer: NodeJS.Timeout | undefined;
  #writing = false;
  #retryAtMs = 0;
  #retryMs = MIN_RETRY_MS;
  #releasing: Promise<void> | undefined;
  #releaseAgain = false;
  #closed = false;
  #active = false;

  constructor(options: ClusterAgentOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
    this.#warnings = new PodWarnings(this.#clock);
    this.#policy = { ...DEFAULT_AVAILABILITY_POLICY, taint: options.taint };
  }

  /**
   * Starts watching; returns at once (the API may be away). Until {@link activate}, what the
   * watches bring is only recorded: the pool is not started yet.
   */
  start(): void {
    this.#options.port.start({
      changed: () => this.#clusterChanged(),
      podGone: (pod) => {
        this.#warnings.forget(pod);
        if (this.#active) this.#releaseEndedPods();
      },
    });
  }

  /** The pool is started and the checkpoint restored: act on the cluster, and report to it. */
  activate(): void {
    if (this.#active || this.#closed) return;
    this.#active = true;
    this.#clusterChanged();
    this.#timer = setInterval(() => void this.tick(), this.#options.tickMs ?? 1_000);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#options.port.close();
    await this.#releasing;
  }

  /**
   * Pods the Node may run that take an address: its `status.capacity.pods` less the host-network
   * pods on it (they count against the capacity but use the node's own address). Undefined until
   * the Node has been seen.
   */
  podCapacity(): number | undefined {
    return this.#capacity;
  }

  /** True when the API (as last synced) has a pod by that name on this node, not finished, holding `address`. */
  holdsAddress(namespace: string | undefined, name: string | undefined, address: string): boolean {
    const { port } = this.#options;
    if (!port.synced() || namespace === undefined || name === undefined) return false;
    return port.pods().some((p) => p.namespace === namespace && p.name === name && !p.terminal && p.podIps.includes(address));
  }

  /** True while the watches are current (the API answers). */
  get synced(): boolean {
    return this.#options.port.synced();
  }

  /** True when the API (as last synced) shows a live pod on this node holding `address`. */
  liveAddress(address: string): boolean {
    const { port } = this.#options;
    return port.synced() && port.pods().some((p) => !p.terminal && !p.hostNetwork && p.podIps.includes(address));
  }

  /** An ADD was refused for want of an address: a Warning Event on the pod, aggregated. */
  addRefused(pod: { namespace?: string | undefined; name?: string | undefined }, message: string): void {
    if (pod.namespace === undefined || pod.name === undefined) return;
    const uid = this.#options.port.pods().find((p) => p.namespace === pod.namespace && p.name === pod.name)?.uid;
    this.#warnings.refused({ namespace: pod.namespace, name: pod.name, ...(uid === undefined ? {} : { uid }) }, NO_ADDRESS_EVENT_REASON, message, this.#clock());
    void this.tick();
  }

  /** One look at the pool: the condition and taint, the NativeipNode status and pending Events (also used by tests). */
  async tick(): Promise<void> {
    if (this.#closed || !this.#active) return;
    try {
      await this.#tick();
    } catch (error) {
      // Never fatal: the cluster is a source, the node keeps serving.
      this.#options.logger.warn({ err: error }, 'cluster agent step failed');
    }
  }

  async #tick(): Promise<void> {
    const { port, pool, logger } = this.#options;
    const now = this.#clock();
    const outlook = pool.outlook();
    const evaluated = evaluateAvailability(this.#memory, outlook, now, this.#policy);
    this.#memory = evaluated.memory;
    const availability = evaluated.availability;
    if (this.#candidate === undefined || !sameAvailability(this.#candidate.availability, availability)) this.#candidate = { availability, sinceMs: now };
    // The taint has its own hysteresis; the condition alone is written once it held settleMs, so a
    // node whose last address comes and goes with each pod does not write the Node each time.
    const settled = this.#written === undefined || this.#written.taint !== availability.taint || now - this.#candidate.sinceMs >= this.#policy.settleMs;
    this.#noteFailure(outlook, now);
    this.#writeWarnings(now);
    if (this.#writing || !port.synced() || now < this.#retryAtMs) return;
    this.#writing = true;
    try {
      if (settled && !sameAvailability(this.#written, availability)) {
        await port.writeAvailability(availability);
        if (this.#written?.taint !== availability.taint || this.#written?.available !== availability.available) {
          logger.info({ available: availability.available, reason: availability.reason, taint: availability.taint ?? null, message: availability.message }, 'Node condition and taint written');
        }
        this.#written = availability;
      }
      const status = this.#nodeStatus(now);
      if (shouldWriteStatus(this.#status, status, now)) {
        await port.writeNodeStatus(status);
        this.#status = { status, atMs: now };
      }
      this.#retryMs = MIN_RETRY_MS;
    } catch (error) {
      logger.warn({ err: error, retryInMs: this.#retryMs }, 'writing to the Kubernetes API failed; the node keeps serving');
      this.#retryAtMs = now + this.#retryMs;
      this.#retryMs = Math.min(MAX_RETRY_MS, this.#retryMs * 2);
    } finally {
      this.#writing = false;
    }
  }

  /** Remembers why the pool cannot grow, when it cannot and the reason or message is new. */
  #noteFailure(outlook: ReturnType<ClusterAgentOptions['pool']['outlook']>, now: number): void {
    if (outlook.blocked !== undefined && (this.#lastFailure?.reason !== outlook.blocked.reason || this.#lastFailure.message !== outlook.blocked.message)) {
      this.#lastFailure = { reason: outlook.blocked.reason, message: outlook.blocked.message, time: new Date(now).toISOString() };
    }
  }

  /** The status as the NativeipNode carries it now (a blocked state always with its failure: the outlook may have changed since the tick began). */
  #nodeStatus(now: number): NativeipNodeStatus {
    const { pool, status, cloudCalls } = this.#options;
    const outlook = pool.outlook();
    this.#noteFailure(outlook, now);
    const reason = outlook.blocked?.reason;
    return buildNodeStatus({
      status: status(),
      pool: pool.pool,
      nowMs: now,
      cloudCalls: cloudCalls.counts(),
      ...(this.#lastFailure === undefined ? {} : { lastFailure: this.#lastFailure }),
      ...(reason === undefined ? {} : { reason }),
    });
  }

  #writeWarnings(now: number): void {
    const { port, logger } = this.#options;
    if (!port.synced()) return;
    for (const { key, warning, eventName } of this.#warnings.due(now)) {
      port.writePodWarning(warning, eventName).then(
        (name) => this.#warnings.written(key, warning.count, name, this.#clock()),
        (error: unknown) => {
          logger.warn({ err: error, pod: `${warning.namespace}/${warning.name}` }, 'could not write a Warning Event');
          this.#warnings.written(key, warning.count, undefined, this.#clock());
        },
      );
    }
  }

  #clusterChanged(): void {
    try {
      this.#onClusterChange();
    } catch (error) {
      this.#options.logger.warn({ err: error }, 'handling a change of the Node or its pods failed');
    }
  }

  #onClusterChange(): void {
    const { port, pool } = this.#options;
    const seen = port.node();
    // The Node lost (or changed) the taint behind our back (an administrator, a re-registered
    // Node): write it again rather than trusting what was last written.
    if (seen !== undefined && this.#written !== undefined && seen.taint !== this.#written.taint) this.#written = undefined;
    if (!this.#seeded && seen !== undefined) {
      // A restarted daemon finds the taint its predecessor set: it keeps it under the same
      // hysteresis instead of removing it and setting it again 2 s later.
      this.#seeded = true;
      if (seen.taint !== undefined) this.#memory = { taint: seen.taint, taintedAtMs: this.#clock() };
    }
    if (this.#active && port.synced()) this.#options.holdLivePodAddresses(port.pods().filter((p) => !p.terminal && !p.hostNetwork && !p.deleting));
    const node = port.node();
    const hostNetwork = port.pods().filter((p) => p.hostNetwork && !p.terminal).length;
    const capacity = node?.capacityPods === undefined ? undefined : Math.max(0, node.capacityPods - hostNetwork);
    if (capacity !== this.#capacity) {
      this.#options.logger.info({ capacityPods: node?.capacityPods, hostNetworkPods: hostNetwork, podCapacity: capacity }, 'pods the Node may run with an address');
      this.#capacity = capacity;
      if (this.#active) void pool.kickGrow().catch(() => undefined);
    }
  }

  /** Coalesced: one release pass at a time, and one more if pods went meanwhile. */
  #releaseEndedPods(): void {
    if (this.#releasing !== undefined) {
      this.#releaseAgain = true;
      return;
    }
    this.#releasing = this.#options
      .releaseEndedPods()
      .then(() => undefined)
      .catch((error: unknown) => this.#options.logger.warn({ err: error }, 'releasing the addresses of ended pods failed'))
      .finally(() => {
        this.#releasing = undefined;
        if (this.#releaseAgain && !this.#closed) {
          this.#releaseAgain = false;
          this.#releaseEndedPods();
        }
      });
  }
}

function sameAvailability(a: NodeAvailability | undefined, b: NodeAvailability): boolean {
  return a !== undefined && a.available === b.available && a.reason === b.reason && a.message === b.message && a.taint === b.taint;
}
