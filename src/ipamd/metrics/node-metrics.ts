/**
 * A node's metrics as Prometheus collectors (prom-client), built from the one definition table
 * (metric-definitions.ts) on a registry of their own. Events (requests, waits, failures, cloud
 * calls) are counted as they happen; the pool's state is read when scraped (collect callbacks), so
 * the pure pool code never updates a gauge. The churn simulator builds one per simulated node, the
 * daemon one for its node.
 */
import { Counter, Gauge, Histogram, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { NODE_METRICS, assignFailureLabel, type MetricDefinition } from './metric-definitions.js';
import type { AssignFailureCause, PoolObserver, ReconcileFinding } from '../pool/pool-observer.js';
import type { CloudCallResult } from '../pool/cloud-call-counter.js';
import { poolGauges, type PoolView } from './pool-gauges.js';

/** The metrics read from the pool when scraped (pool-gauges.ts), by their key in NODE_METRICS. */
const POOL_METRICS: ReadonlySet<string> = new Set([
  'addresses', 'interfaceAddresses', 'prefixes', 'interfaces', 'interfacesMax', 'addressesMax', 'maxPods',
  'warmPoolBand', 'warmPoolBurst', 'warmPoolArrivalRate', 'warmPoolPolicy', 'growInProgress', 'podsWaiting', 'poolBlocked', 'reconciles',
]);

export interface BuildLabels {
  readonly version: string;
  readonly nodejs: string;
  readonly cloud: string;
}

export interface NodeMetricsOptions {
  /** The pool to read when scraped; undefined until the daemon has one (before start, nothing is reported). */
  readonly pool: () => PoolView | undefined;
  readonly clock?: () => number;
  readonly build?: BuildLabels;
}

/** One metric's values, as the registry reports them (for the simulator and tests). */
export type MetricSnapshot = MetricObjectWithValues<MetricValue<string>>;

type Collectors = {
  readonly [K in keyof typeof NODE_METRICS]: (typeof NODE_METRICS)[K]['kind'] extends 'counter'
    ? Counter<string>
    : (typeof NODE_METRICS)[K]['kind'] extends 'histogram'
      ? Histogram<string>
      : Gauge<string>;
};

export class NodeMetrics implements PoolObserver {
  readonly registry = new Registry();
  readonly #m: Collectors;
  readonly #options: NodeMetricsOptions;
  /** True from a pool pass until the event loop turns (the rest of that scrape reads its values). */
  #poolFresh = false;

  constructor(options: NodeMetricsOptions) {
    this.#options = options;
    const collectors: Record<string, Counter<string> | Gauge<string> | Histogram<string>> = {};
    // Every pool gauge (and the reconcile counts) is read from the pool when collected, in one
    // pass per scrape: whichever is collected first fills them all, whatever order the registry
    // (or a single-metric read) asks in.
    for (const [key, definition] of Object.entries(NODE_METRICS)) {
      collectors[key] = this.#create(definition, POOL_METRICS.has(key) ? () => this.#collectPoolOnce() : undefined);
    }
    this.#m = collectors as unknown as Collectors;
    if (options.build !== undefined) this.#m.buildInfo.set({ ...options.build }, 1);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition, as served on /metrics. */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  /** Every metric's values (the simulator's per-node counters). */
  snapshot(): Promise<MetricSnapshot[]> {
    return this.registry.getMetricsAsJSON() as Promise<MetricSnapshot[]>;
  }

  // PoolObserver

  podWaited(ms: number): void {
    this.#m.podWaits.observe(ms / 1000);
  }

  assignFailed(cause: AssignFailureCause): void {
    this.#m.assignFailures.inc({ reason: assignFailureLabel(cause) });
  }

  reconcileFound(finding: ReconcileFinding, count: number): void {
    this.#m.reconcileFindings.inc({ finding }, count);
  }

  // Events outside the pool

  /** A CNI request answered: `result` is `ok` or the error code's name. */
  cniRequest(command: string, result: string, durationMs: number): void {
    this.#m.cniRequests.inc({ command, result });
    this.#m.cniRequestDuration.observe({ command }, durationMs / 1000);
  }

  /** One of the pool's cloud operations ended (CloudCallCounter). */
  cloudOperation(operation: string, durationMs: number, result: CloudCallResult): void {
    this.#m.cloudOperations.inc({ operation, result });
    this.#m.cloudOperationDuration.observe({ operation }, durationMs / 1000);
  }

  /** One request to the cloud's API ended (each SDK attempt). */
  cloudApiRequest(api: string, durationMs: number, result: CloudCallResult): void {
    this.#m.cloudApiRequests.inc({ api, result });
    this.#m.cloudApiDuration.observe({ api }, durationMs / 1000);
  }

  leakedInterfacesCollected(count: number): void {
    if (count > 0) this.#m.leakedInterfacesCollected.inc(count);
  }

  checkpointWritten(durationMs: number): void {
    this.#m.checkpointWrites.observe(durationMs / 1000);
  }

  /** How long a start-up phase took (`node`: reading the node from the cloud; `total`: process start to serving). */
  startupPhase(phase: 'node' | 'total', seconds: number): void {
    this.#m.startup.set({ phase }, seconds);
  }

  /** One pass over the pool per scrape: the metrics of one scrape are collected in one turn of the event loop. */
  #collectPoolOnce(): void {
    if (this.#poolFresh) return;
    this.#poolFresh = true;
    setImmediate(() => {
      this.#poolFresh = false;
    });
    this.#collectPool();
  }

  #collectPool(): void {
    const view = this.#options.pool();
    const m = this.#m;
    for (const gauge of [m.addresses, m.interfaceAddresses, m.prefixes, m.interfaces, m.interfacesMax, m.addressesMax, m.maxPods, m.warmPoolBand, m.warmPoolBurst, m.warmPoolArrivalRate, m.warmPoolPolicy, m.growInProgress, m.podsWaiting, m.poolBlocked]) {
      gauge.reset();
    }
    if (view === undefined) return;
    const g = poolGauges(view, (this.#options.clock ?? Date.now)());
    if (g === undefined) return;
    for (const [state, value] of Object.entries(g.addresses)) m.addresses.set({ state }, value);
    for (const pif of g.interfaces) {
      for (const [state, value] of Object.entries(pif.addresses)) {
        m.interfaceAddresses.set({ interface: pif.id, device_index: String(pif.deviceIndex), subnet: pif.subnetId, state }, value);
      }
    }
    m.prefixes.set(g.prefixes);
    m.interfaces.set(g.interfaces.length);
    m.interfacesMax.set(g.interfacesMax);
    m.addressesMax.set(g.addressesMax);
    m.maxPods.set(g.maxPods);
    m.warmPoolPolicy.set({ policy: g.policy }, 1);
    if (g.band !== undefined) {
      m.warmPoolBand.set({ bound: 'low' }, g.band.low);
      m.warmPoolBand.set({ bound: 'high' }, g.band.high);
      m.warmPoolBand.set({ bound: 'release_above' }, g.band.releaseAbove);
      m.warmPoolBand.set({ bound: 'interface_low' }, g.band.interfaceLow);
      m.warmPoolBurst.set(g.band.burst ? 1 : 0);
      m.warmPoolArrivalRate.set(g.band.ratePerSec);
    }
    m.growInProgress.set(g.growing ? 1 : 0);
    m.podsWaiting.set(g.pending);
    if (g.blocked !== undefined) m.poolBlocked.set({ reason: assignFailureLabel(g.blocked) }, 1);
    // Reconcile counts live in the pool's gate; a counter that is reset and set stays monotonic.
    m.reconciles.reset();
    m.reconciles.inc({ how: 'observed' }, g.reconciles.observedMatch);
    m.reconciles.inc({ how: 'rechecked' }, g.reconciles.rechecked);
    m.reconciles.inc({ how: 'described' }, g.reconciles.described);
  }

  #create(definition: MetricDefinition, collect: (() => void) | undefined): Counter<string> | Gauge<string> | Histogram<string> {
    const base = { name: definition.name, help: definition.help, labelNames: [...definition.labels], registers: [this.registry] };
    switch (definition.kind) {
      case 'counter':
        return new Counter(collect === undefined ? base : { ...base, collect });
      case 'gauge':
        return new Gauge(collect === undefined ? base : { ...base, collect });
      case 'histogram':
        return new Histogram({ ...base, buckets: [...(definition.buckets ?? [])] });
    }
  }
}
