/**
 * Replays a pod trace against the real pool engine (PoolManager: planning, grow, shrink,
 * reconcile) and the real cloud provider of every node, with the emulated cloud in-process on
 * simulated time.
 * Reports what users compare: pods that waited for the cloud, idle address-hours, cloud API calls.
 */
import pino from 'pino';
import type { HostInterfaceSpec } from '../ipamd/datapath/types.js';
import { loadDaemonConfig, withCloudDefaults } from '../ipamd/config/config.js';
import { cloudPlugin } from '../ipamd/clouds.js';
import type { AdaptiveParams } from '../ipamd/pool/plan/adaptive-target.js';
import { AdaptiveController } from '../ipamd/pool/adaptive-controller.js';
import { PoolManager } from '../ipamd/pool/pool-manager.js';
import type { ReconcileCounts } from '../ipamd/pool/reconcile-gate.js';
import { poolPolicyOf } from '../ipamd/pool/pool-targets.js';
import { RpcServiceError } from '../rpc/errors.js';
import { percentile } from './percentile.js';
import { seededRandom } from './traces.js';
import { createSimCloud } from './sim-cloud.js';
import type { Trace } from './traces.js';
import { VirtualClock } from './virtual-clock.js';
import { NodeMetrics, type MetricSnapshot } from '../ipamd/metrics/node-metrics.js';
import { CloudCallCounter } from '../ipamd/pool/cloud-call-counter.js';

export interface Policy {
  readonly name: string;
  /** Daemon environment, exactly as a user would set it. */
  readonly env: Readonly<Record<string, string>>;
  /** For tuning only: parameters of the adaptive default instead of its defaults. */
  readonly adaptiveParams?: AdaptiveParams;
}

export interface SimulationOptions {
  /** The cloud the nodes run in: a registered cloud that can be simulated (sim-cloud.ts). */
  readonly cloud: string;
  /** The nodes' machine type (instance type, VM size). */
  readonly instanceType: string;
  /** The cloud's latencies by its own names (its emulator's `defaultLatencies`), instead of the defaults. */
  readonly latencies?: Readonly<Record<string, number>>;
  readonly throttling?: boolean;
  readonly reconcileIntervalMs?: number;
  /** How long kubelet waits before retrying a failed sandbox. */
  readonly kubeletRetryMs?: number;
  /** Time the nodes run before the trace starts (not counted). Default 2 minutes. */
  readonly warmupMs?: number;
  /** Simulated time after the trace's last event before stopping (pods still waiting keep trying). */
  readonly drainMs?: number;
  /** False makes every reconcile describe the node, as before instance-metadata observation. Default true. */
  readonly observeNodes?: boolean;
  /** Called at every idle sample (every 10 simulated seconds) with each node's pool, for timelines. */
  readonly onSample?: (sample: NodeSample) => void;
  /**
   * Give each node the daemon's own metrics (src/ipamd/metrics, the same definitions a live node
   * serves on /metrics, on the virtual clock) and return them in `nodeMetrics`.
   */
  readonly nodeMetrics?: boolean;
}

/** One node's pool at one idle sample. */
export interface NodeSample {
  /** Simulated ms since the trace started. */
  readonly atMs: number;
  readonly node: string;
  readonly assigned: number;
  /** Addresses held but not assigned (free and cooling down). */
  readonly unassigned: number;
  /** Of those, released too recently to hand out. */
  readonly cooling: number;
  readonly interfaces: number;
  /** Mutating cloud calls of the whole account since the trace started. */
  readonly accountMutatingCalls: number;
}

export interface SimulationResult {
  readonly policy: string;
  readonly trace: string;
  readonly pods: number;
  readonly podsWaited: number;
  readonly waitP50Ms: number;
  readonly waitP99Ms: number;
  readonly maxWaitMs: number;
  /** Pods that never got an address before the trace ended. */
  readonly podsUnserved: number;
  readonly idleAddressHours: number;
  readonly callsByAction: Readonly<Record<string, number>>;
  readonly mutatingCalls: number;
  /** Mutating calls of the nodes' start, before the trace (not in mutatingCalls). */
  readonly warmupMutatingCalls: number;
  readonly throttledCalls: number;
  /** Node observations from instance metadata: free, not cloud API calls. */
  readonly metadataReads: number;
  /** How the nodes' reconciles went, summed over nodes. */
  readonly reconciles: ReconcileCounts;
  /** Virtual time until the last pod got its address (ms from the first event). */
  readonly lastAddressAtMs: number;
  /** Each node's metrics at the end, when asked for (SimulationOptions.nodeMetrics): what its daemon would serve. */
  readonly nodeMetrics?: Readonly<Record<string, readonly MetricSnapshot[]>>;
}

const SAMPLE_MS = 10_000;
let seed = 11;
const seeded = () => seededRandom(seed++);
const silent = pino({ level: 'silent' });
/** No kernel: a new interface is ready once the node sees its link, `visibleMs` after its attach. */
function simDatapath(clock: VirtualClock, visibleMs: number) {
  return {
    setupInterface: async (_spec: HostInterfaceSpec, options?: { readonly timeoutMs?: number }) => {
      if (options?.timeoutMs !== undefined && visibleMs > 0) await clock.sleep(visibleMs);
    },
    teardownInterface: async (_spec: HostInterfaceSpec) => undefined,
  };
}

export async function simulate(trace: Trace, policy: Policy, options: SimulationOptions): Promise<SimulationResult> {
  const clock = new VirtualClock(0);
  const config = loadDaemonConfig({ ...policy.env });
  const account = await createSimCloud({
    cloud: options.cloud,
    clock,
    throttling: options.throttling ?? false,
    latencies: options.latencies,
    config,
    observeNodes: options.observeNodes,
  });
  const datapath = simDatapath(clock, account.interfaceVisibleMs);
  // The cloud's MTU where the policy sets none, as the daemon starts (createSimCloud has refused a cloud that is not registered).
  const { mtu } = withCloudDefaults(config, cloudPlugin(options.cloud), policy.env);
  const reconcileMs = options.reconcileIntervalMs ?? config.reconcileIntervalMs;
  const retryMs = options.kubeletRetryMs ?? 2_000;

  const nodeNames = [...new Set(trace.events.map((e) => e.node))].sort();
  const nodes = new Map<string, PoolManager>();
  const metrics = new Map<string, NodeMetrics>();
  const ready = new Map<string, Promise<void>>();
  // Nothing advances the virtual clock but runUntil, so start the nodes and then run time.
  // Machines first: a machine type the cloud does not have fails the run here, before time runs.
  const providers = new Map(nodeNames.map((name) => [name, account.addNode(options.instanceType)] as const));
  const started = Promise.all(
    nodeNames.map(async (name) => {
      let provider = providers.get(name)!;
      let observer: NodeMetrics | undefined;
      if (options.nodeMetrics === true) {
        observer = new NodeMetrics({ pool: () => nodes.get(name), clock: clock.now, build: { version: 'simulated', nodejs: process.version, cloud: options.cloud } });
        const calls = new CloudCallCounter(clock.now);
        calls.listen((operation, ms, result) => observer!.cloudOperation(operation, ms, result));
        provider = calls.wrap(provider);
        metrics.set(name, observer);
      }
      const policyOfConfig = poolPolicyOf(config);
      const { targets } = policyOfConfig;
      const adaptive = policyOfConfig.adaptive !== undefined && policy.adaptiveParams !== undefined ? new AdaptiveController(policy.adaptiveParams) : policyOfConfig.adaptive;
      const pool = new PoolManager({
        provider,
        datapath,
        targets,
        mtu,
        attachTimeoutMs: 60_000,
        acquireTimeoutMs: 20_000,
        logger: silent,
        clock: clock.now,
        sleep: clock.sleep,
        random: seeded(),
        ...(adaptive === undefined ? {} : { adaptive }),
        ...(observer === undefined ? {} : { observer }),
      });
      nodes.set(name, pool);
      const starting = pool.start();
      ready.set(name, starting.catch(() => undefined));
      await starting;
      await pool.kickGrow();
    }),
  );
  // Awaited at the end (a node that could not start fails the run there); observed now, so the
  // failure is not an unhandled rejection while simulated time runs.
  started.catch(() => undefined);
  // Let every node warm up before the trace starts, as a node does before pods are scheduled.
  const warmup = options.warmupMs ?? 120_000;
  await clock.runUntil(warmup);
  const warmupMutatingCalls = account.mutatingCalls();
  account.calls.clear();
  account.throttled.clear();
  const readsBefore = account.metadataReads();
  const reconcilesBefore = sumReconciles(nodes.values());

  const waits: number[] = [];
  let lastAddressAt = 0;
  let unserved = 0;
  let idleAddressMs = 0;
  const live = new Map<string, { node: string; served: Promise<boolean> }>();
  const endAt = warmup + trace.durationSec * 1000 + (options.drainMs ?? 0);
  let stopped = false;

  const addPod = async (node: string, pod: string): Promise<boolean> => {
    const pool = nodes.get(node)!;
    const started = clock.now();
    // Until its daemon has read the node from the cloud, kubelet's ADDs fail and are retried.
    await ready.get(node);
    for (;;) {
      try {
        await pool.acquire(pod);
        break;
      } catch (error) {
        if (!(error instanceof RpcServiceError) || stopped || clock.now() >= endAt) {
          unserved += 1;
          return false;
        }
        await clock.sleep(retryMs);
      }
    }
    const waited = clock.now() - started;
    if (waited > 0) waits.push(waited);
    lastAddressAt = Math.max(lastAddressAt, clock.now() - warmup);
    return true;
  };

  const reconcilers = nodeNames.map(async (name, index) => {
    await clock.sleep((reconcileMs * index) / nodeNames.length);
    while (!stopped) {
      await nodes.get(name)!.reconcile().catch(() => undefined);
      await clock.sleep(reconcileMs);
    }
  });
  const sampler = (async () => {
    while (!stopped) {
      for (const [node, pool] of nodes) {
        const stats = pool.pool.stats(clock.now());
        const interfaces = pool.pool.interfaces().length;
        idleAddressMs += (stats.total - stats.assigned + Math.max(0, interfaces - 1)) * SAMPLE_MS;
        options.onSample?.({
          atMs: clock.now() - warmup,
          node,
          assigned: stats.assigned,
          unassigned: stats.total - stats.assigned,
          cooling: stats.coolingDown,
          interfaces,
          accountMutatingCalls: account.mutatingCalls(),
        });
      }
      await clock.sleep(SAMPLE_MS);
    }
  })();

  for (const event of trace.events) {
    await clock.runUntil(warmup + event.t * 1000);
    const key = `${event.node}/${event.pod}`;
    if (event.op === 'add') {
      live.set(key, { node: event.node, served: addPod(event.node, key) });
    } else {
      const pod = live.get(key);
      if (pod === undefined) continue;
      live.delete(key);
      void pod.served.then((ok) => {
        if (ok) nodes.get(pod.node)!.release(key, { used: true, cooldownMs: config.ipCooldownMs });
      });
    }
  }
  await clock.runUntil(endAt);
  stopped = true;
  await started; // a node that could not start fails the run here
  for (const pool of nodes.values()) pool.close();
  await clock.runUntil(endAt + 10 * 60_000);
  void reconcilers;
  void sampler;

  const nodeMetrics = options.nodeMetrics === true ? Object.fromEntries(await Promise.all([...metrics].map(async ([node, m]) => [node, await m.snapshot()] as const))) : undefined;
  const callsByAction = Object.fromEntries([...account.calls].sort(([a], [b]) => a.localeCompare(b)));
  return {
    policy: policy.name,
    trace: trace.name,
    pods: trace.events.filter((e) => e.op === 'add').length,
    podsWaited: waits.length + unserved,
    waitP50Ms: waits.length === 0 ? 0 : percentile(waits, 50),
    waitP99Ms: waits.length === 0 ? 0 : percentile(waits, 99),
    maxWaitMs: waits.length === 0 ? 0 : Math.max(...waits),
    podsUnserved: unserved,
    idleAddressHours: idleAddressMs / 3_600_000,
    callsByAction,
    mutatingCalls: account.mutatingCalls(),
    warmupMutatingCalls,
    throttledCalls: [...account.throttled.values()].reduce((a, b) => a + b, 0),
    metadataReads: account.metadataReads() - readsBefore,
    reconciles: subtractReconciles(sumReconciles(nodes.values()), reconcilesBefore),
    lastAddressAtMs: lastAddressAt,
    ...(nodeMetrics === undefined ? {} : { nodeMetrics }),
  };
}

function sumReconciles(pools: Iterable<PoolManager>): ReconcileCounts {
  const sum = { observedMatch: 0, rechecked: 0, described: 0 };
  for (const pool of pools) {
    const counts = pool.reconcileCounts;
    sum.observedMatch += counts.observedMatch;
    sum.rechecked += counts.rechecked;
    sum.described += counts.described;
  }
  return sum;
}

function subtractReconciles(a: ReconcileCounts, b: ReconcileCounts): ReconcileCounts {
  return { observedMatch: a.observedMatch - b.observedMatch, rechecked: a.rechecked - b.rechecked, described: a.described - b.described };
}
