/**
 * Composition of the daemon's parts: pool manager, IPAM service, RPC server and the reconcile
 * timer. Constructing does no I/O; start() and close() are explicit.
 */
import { access } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { EgressNat, NodeNftRules } from './datapath/snat.js';
import type { Datapath, PodFromRuleSpec } from './datapath/types.js';
import type { CloudProvider } from '../core/types.js';
import type { Checkpoint } from './checkpoint/checkpoint.js';
import type { DaemonConfig } from './config/config.js';
import { poolPolicyOf } from './pool/pool-targets.js';
import type { AddParams, CheckParams, DelParams, GcParams } from '../rpc/protocol.js';
import { createExecHandler } from './service/exec-handler.js';
import { IpamService } from './service/ipam-service.js';
import { LeakedInterfaceGc } from './pool/leaked-interface-gc.js';
import { PoolManager } from './pool/pool-manager.js';
import { RpcServer } from './service/rpc-server.js';
import { CloudCallCounter } from './pool/cloud-call-counter.js';
import { ClusterAgent } from './cluster/cluster-agent.js';
import type { ClusterPort } from './cluster/cluster-port.js';
import { installConflist, renderConflist } from './cluster/cni-conflist.js';
import { HealthServer } from './health-server.js';
import { NodeMetrics } from './metrics/node-metrics.js';
import type { HttpEndpoint } from './http-endpoint.js';
import { buildLabels, observabilityEndpoints, timedCheckpoint, timedHandlers } from './metrics/instrumentation.js';

export interface DaemonParts {
  readonly config: DaemonConfig;
  readonly logger: Logger;
  readonly provider: CloudProvider;
  readonly datapath: Datapath;
  readonly checkpoint: Checkpoint;
  /**
   * The node's nft table: SNAT of pod traffic leaving the VPC (AWS without external SNAT) and the
   * node-port marking (AWS_VPC_CNI_NODE_PORT_SUPPORT). Unset: no nft table is programmed.
   */
  readonly egressNat?: EgressNat;
  /** The Kubernetes API around the node (src/kube). Unset: the daemon runs without it. */
  readonly cluster?: ClusterPort;
  /**
   * Whether the node SNATs pod traffic leaving the network: the chosen cloud's
   * (CloudPlugin.snatsEgress), unless AWS_VPC_K8S_CNI_EXTERNALSNAT. Unset: no.
   */
  readonly snatsEgress?: boolean;
  /**
   * The node's metrics; main creates them before the provider, so the provider reports its API
   * requests to them. Unset: the daemon makes its own.
   */
  readonly metrics?: NodeMetrics;
  /**
   * Resolves once the node is the daemon's alone (no other IPAM agent of the cloud runs there:
   * other-agent-wait.ts); awaited after the health endpoint starts, before the node is read.
   * Unset: no wait.
   */
  readonly untilNodeIsOurs?: () => Promise<unknown>;
  readonly clock?: () => number;
}

/** How long an ADD waits for a grow under way before it answers "try again later". */
const ACQUIRE_TIMEOUT_MS = 20_000;

/**
 * How long stopping waits for cloud work under way (a grow waiting for its interface to appear, a
 * reconcile, a leaked-interface sweep) before leaving it: every step of it is recorded in the
 * checkpoint as it is taken (the providers' journals), and the next start finishes or undoes it.
 * Kubelet's default grace period is 30 s; the rest of stopping takes well under a second.
 */
export const SHUTDOWN_CLOUD_WAIT_MS = 5_000;

export class Daemon {
  readonly pool: PoolManager;
  readonly service: IpamService;
  /** Cloud calls by action, since start. */
  readonly cloudCalls = new CloudCallCounter();
  /** What /metrics serves. */
  readonly metrics: NodeMetrics;
  /** The cluster side (Kubernetes API), when connected. */
  readonly cluster: ClusterAgent | undefined;
  readonly #parts: DaemonParts;
  readonly #health: HealthServer | undefined;
  readonly #metricsEndpoint: HttpEndpoint | undefined;
  readonly #introspectionEndpoint: HttpEndpoint | undefined;
  #serving = false;
  readonly #rpc: RpcServer;
  readonly #leakedInterfaceGc: LeakedInterfaceGc;
  #timer: NodeJS.Timeout | undefined;
  #reconciling: Promise<void> | undefined;
  /**
   * Whether pod traffic leaving the VPC is SNATed to the node's primary address: on AWS unless
   * AWS_VPC_K8S_CNI_EXTERNALSNAT. Azure gives VMs default outbound access (or a NAT gateway / load
   * balancer rules) per NIC configuration, so pods keep their own address there.
   */
  readonly #snat: boolean;
  /** The `from`-rule destinations the existing pods' rules were last rewritten to (JSON); unset before the first rewrite. */
  #fromRulesFor: string | undefined;

  constructor(parts: DaemonParts) {
    this.#parts = parts;
    const { config, logger, datapath, clock } = parts;
    this.metrics = parts.metrics ?? new NodeMetrics({ pool: () => this.pool, build: buildLabels(parts.provider.name) });
    const metrics = this.metrics;
    this.cloudCalls.listen((operation, ms, result) => metrics.cloudOperation(operation, ms, result));
    const checkpoint = timedCheckpoint(parts.checkpoint, (ms) => metrics.checkpointWritten(ms));
    const provider = this.cloudCalls.wrap(parts.provider);
    const { targets, adaptive } = poolPolicyOf(config);
    this.#snat = !config.externalSnat && parts.snatsEgress === true;
    this.pool = new PoolManager({
      provider,
      datapath,
      targets,
      mtu: config.mtu,
      attachTimeoutMs: config.attachTimeoutMs,
      acquireTimeoutMs: ACQUIRE_TIMEOUT_MS,
      ...(adaptive === undefined ? {} : { adaptive }),
      logger: logger.child({ part: 'pool' }),
      ...(clock === undefined ? {} : { clock }),
      clusterPodCapacity: () => this.cluster?.podCapacity(),
      // Nothing is released or deleted before every record of who holds what has been read.
      unsettledReason: () => this.service.unsettledReason(),
      observer: metrics,
    });
    this.service = new IpamService({
      pool: this.pool,
      datapath,
      checkpoint,
      logger: logger.child({ part: 'ipam' }),
      ...(this.#snat ? { fromRuleDestinations: () => this.#snatDestinations() } : {}),
      mtu: config.mtu,
      vethPrefix: config.vethPrefix,
      ipCooldownMs: config.ipCooldownMs,
      netnsExists: pathExists,
      livePodHolds: (namespace, name, address) => this.cluster?.holdsAddress(namespace, name, address) ?? false,
      liveAddress: (address) => this.cluster?.liveAddress(address) ?? false,
      clusterSynced: () => this.cluster?.synced ?? true,
      clusterConnected: parts.cluster !== undefined,
      onAddressRefused: (pod, reason) => this.cluster?.addRefused({ namespace: pod.podNamespace, name: pod.podName }, reason),
      providerState: () => provider.resumeState?.(),
      ...(clock === undefined ? {} : { clock }),
    });
    this.#leakedInterfaceGc = new LeakedInterfaceGc({
      provider,
      intervalMs: config.eniGcIntervalMs,
      logger: logger.child({ part: 'eni-gc' }),
      onCollected: (ids) => metrics.leakedInterfacesCollected(ids.length),
    });
    const service = this.service;
    this.cluster =
      parts.cluster === undefined
        ? undefined
        : new ClusterAgent({
            port: parts.cluster,
            pool: this.pool,
            status: () => service.status(),
            releaseEndedPods: () => service.releaseEndedPods(),
            holdLivePodAddresses: (pods) => service.holdLivePodAddresses(pods),
            cloudCalls: this.cloudCalls,
            logger: logger.child({ part: 'cluster' }),
            taint: config.taintExhaustedNodes,
            ...(clock === undefined ? {} : { clock }),
          });
    this.#health =
      config.healthAddress === undefined
        ? undefined
        : new HealthServer({ ...config.healthAddress, notReadyReason: () => this.#notReadyReason(), logger: logger.child({ part: 'health' }) });
    provider.onResumeStateChange?.(() => service.persist());
    const handlers = timedHandlers(
      {
        add: (params: AddParams) => service.add(params),
        del: (params: DelParams) => service.del(params),
        check: (params: CheckParams) => service.check(params),
        gc: (params: GcParams) => service.gc(params),
        status: () => service.currentStatus(),
      },
      metrics,
    );
    const endpoints = observabilityEndpoints({ config, metrics, service, pool: this.pool, logger, clock: clock ?? Date.now });
    this.#metricsEndpoint = endpoints.metrics;
    this.#introspectionEndpoint = endpoints.introspection;
    this.#rpc = new RpcServer({
      socketPath: config.socketPath,
      logger: logger.child({ part: 'rpc' }),
      handlers: { ...handlers, exec: createExecHandler(handlers) },
    });
  }

  /** Discovers the node, restores the checkpoint, opens the socket and starts warming the pool. */
  async start(): Promise<void> {
    const { logger, config, provider } = this.#parts;
    await this.#health?.start();
    await this.#metricsEndpoint?.start();
    await this.#introspectionEndpoint?.start();
    await this.#parts.untilNodeIsOurs?.();
    this.cluster?.start();
    // Operations in flight when the daemon stopped are finished by the provider, not repeated (on
    // the instance that started them only: the provider checks the instance once it knows its own).
    const saved = await this.service.loadCheckpoint();
    if (saved?.providerState !== undefined) provider.restoreState?.(saved.providerState, saved.instanceId);
    const nodeStarted = performance.now();
    await this.pool.start();
    this.metrics.startupPhase('node', (performance.now() - nodeStarted) / 1000);
    await this.#syncHostNetwork();
    await this.service.restore(saved);
    this.cluster?.activate();
    // The file now says what was restored: a set-aside, lost or audited checkpoint is replaced at
    // once rather than at the next ADD or DEL.
    await this.service.persist();
    await this.service.releaseEndedPods();
    await this.#removeLeftovers();
    await this.#rewritePodFromRules('start');
    await this.#rpc.start();
    this.#serving = true;
    this.metrics.startupPhase('total', process.uptime());
    if (config.cniConfDir !== undefined) {
      const installed = await installConflist(config.cniConfDir, renderConflist({ socketPath: config.socketPath }));
      logger.info({ path: installed.path, removed: installed.removed }, 'CNI configuration written: the node can start pods');
      if (installed.before.length > 0) {
        logger.error({ dir: config.cniConfDir, first: installed.before }, `the container runtime uses ${installed.before[0]} (first in name order), not nativeip: remove it (README, Deploying)`);
      } else if (installed.after.length > 0) {
        logger.warn({ dir: config.cniConfDir, others: installed.after }, `other network configurations are here too (${installed.after.join(', ')}); nativeip's sorts first, so the runtime uses nativeip — remove them once their CNI is gone`);
      }
    }
    const node = this.pool.node;
    logger.info(
      { instanceId: node.instanceId, instanceType: node.instanceType, interfaces: node.interfaces.length, pool: this.pool.pool.stats(Date.now()) },
      'nativeip-ipamd ready',
    );
    void this.pool.kickGrow();
    this.#scheduleReconcile(config.reconcileIntervalMs);
    if (!config.disableLeakedEniCleanup) this.#leakedInterfaceGc.start();
  }

  /** Deletes leaked interfaces now (also used by tests); resolves with the ids deleted. */
  collectLeakedInterfacesNow(): Promise<string[]> {
    return this.#leakedInterfaceGc.runNow();
  }

  /** Runs one reconcile now (also used by tests and the CLI). */
  reconcileNow(): Promise<void> {
    this.#reconciling ??= this.service
      .releaseEndedPods()
      .then(() => this.pool.reconcile())
      .then(() => this.#syncHostNetwork())
      .then(() => this.#rewritePodFromRules(this.service.settleStranded() > 0 ? 'stranded pods recovered' : 'VPC CIDRs changed'))
      .then(() => this.#removeLeftovers())
      .catch((error: unknown) => this.#parts.logger.warn({ err: error }, 'reconcile failed'))
      .finally(() => {
        this.#reconciling = undefined;
      });
    return this.#reconciling;
  }

  async close(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.pool.close();
    await this.cluster?.close();
    await this.#health?.close();
    await this.#metricsEndpoint?.close();
    await this.#introspectionEndpoint?.close();
    await this.#rpc.close();
    const started = performance.now();
    // ADDs and DELs already started, and cloud work under way, get the same bounded wait.
    const inFlight = Promise.all([this.service.exclusively(async () => undefined), this.#reconciling, this.pool.inFlight, this.#leakedInterfaceGc.close()]).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    let finished: boolean;
    try {
      finished = await Promise.race([inFlight, new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), SHUTDOWN_CLOUD_WAIT_MS)))]);
    } finally {
      clearTimeout(timer);
    }
    if (!finished) {
      const grow = this.pool.growStep;
      this.#parts.logger.warn(
        { waitedMs: Math.round(performance.now() - started), ...(grow === undefined ? {} : { grow: grow.doing }) },
        'stopping with work under way: cloud steps are recorded in the checkpoint and the next start finishes or undoes them; a pod whose ADD was cut off is retried by kubelet',
      );
      await this.service.persist().catch((error: unknown) => this.#parts.logger.warn({ err: error }, 'could not write the checkpoint while stopping'));
    }
    this.#parts.datapath.close();
  }

  /** Removes pod objects in the host no record owns (see IpamService.removeLeftovers); a failure is logged and tried again next time. */
  async #removeLeftovers(): Promise<void> {
    try {
      const removed = await this.service.removeLeftovers();
      if (removed.length > 0) this.#parts.logger.warn({ removed }, `removed ${removed.length} host objects of pods no record owns (a crash or a lost checkpoint left them)`);
    } catch (error) {
      this.#parts.logger.warn({ err: error }, 'could not remove leftover pod objects; trying again after the next reconcile');
    }
  }

  /** Readiness for the DaemonSet: restored and serving the plugin. */
  #notReadyReason(): string | undefined {
    // A node that is full is still a working node: exhaustion is told by the Node condition and
    // taint, never by readiness, or a DaemonSet rollout would stall on full nodes.
    return this.#serving ? undefined : 'starting: restoring the checkpoint and the pool';
  }

  /** Destinations a pod on a secondary interface reaches through it while SNAT is on. */
  #snatDestinations(): readonly string[] {
    return [...new Set([...this.pool.node.vpcCidrs, ...this.#parts.config.excludeSnatCidrs])];
  }

  /**
   * Installs (or updates, when the VPC CIDRs changed) the node's nft table with the SNAT rule and
   * the node-port marking, and the node-port ip rule; removes what an earlier run left when neither
   * is wanted. Throws when the table or the rule cannot be installed.
   */
  async #syncHostNetwork(): Promise<void> {
    const { egressNat, config, logger, datapath } = this.#parts;
    const node = this.pool.node;
    const rules: NodeNftRules = {
      ...(this.#snat
        ? { snat: { primaryIp: node.primaryIp, vpcCidrs: node.vpcCidrs, excludedCidrs: config.excludeSnatCidrs, podInterfacePrefix: config.vethPrefix, ports: config.randomizeSnat } }
        : {}),
      ...(config.nodePortSupport ? { nodePort: { primaryIp: node.primaryIp, podInterfacePrefix: config.vethPrefix, mark: config.connmark } } : {}),
    };
    if (egressNat !== undefined) {
      if (rules.snat === undefined && rules.nodePort === undefined) {
        await egressNat.remove().catch((error: unknown) => logger.warn({ err: error }, 'could not remove the nft table of an earlier run'));
      } else {
        await egressNat.apply(rules);
      }
    }
    await datapath.syncNodePortRule?.(config.nodePortSupport ? config.connmark : undefined);
    logger.debug({ nft: rules }, 'node SNAT and node-port rules in place');
  }

  /**
   * Rewrites the `from` rules of the pods the checkpoint holds to the current SNAT mode and VPC
   * CIDRs: at start-up (the mode or the exclusions may have changed since the pods were added),
   * after a reconcile that changed the destinations, and when stranded pods got their address
   * back (they had no `from` rule). Logs how many pods' rules changed; a
   * failure is logged and retried after the next reconcile.
   */
  async #rewritePodFromRules(reason: 'start' | 'VPC CIDRs changed' | 'stranded pods recovered'): Promise<void> {
    const { datapath, logger } = this.#parts;
    if (datapath.rewritePodFromRules === undefined) return;
    const destinations = this.#snat ? this.#snatDestinations() : undefined;
    const key = JSON.stringify(destinations ?? null);
    if (reason === 'VPC CIDRs changed' && key === this.#fromRulesFor) return;
    const specs = (): PodFromRuleSpec[] => {
      const known = new Set(this.pool.pool.interfaces().map((pif) => pif.id));
      return this.service
        .status()
        .pods.filter((pod) => known.has(pod.interfaceId) && !this.service.isStranded(pod))
        .map((pod) => {
          const routeTable = this.pool.routeTableOf(pod.interfaceId);
          return {
            address: pod.address,
            ...(routeTable === undefined ? {} : { routeTable }),
            ...(destinations === undefined ? {} : { fromRuleDestinations: destinations }),
          };
        });
    };
    try {
      // No ADD or DEL runs meanwhile: the rules rewritten are exactly those of the pods held.
      const rewrite = datapath.rewritePodFromRules.bind(datapath);
      const rewritten = await this.service.exclusively(() => rewrite(specs));
      this.#fromRulesFor = key;
      logger.info({ rewritten, pods: this.service.status().pods.length, reason, destinations: destinations ?? 'all' }, `rewrote the from rules of ${rewritten} existing pods`);
    } catch (error) {
      logger.warn({ err: error, reason }, 'could not rewrite the from rules of existing pods');
    }
  }

  #scheduleReconcile(intervalMs: number): void {
    // Jitter keeps a fleet of nodes from calling the cloud in lockstep.
    const delay = intervalMs * (0.8 + Math.random() * 0.4);
    this.#timer = setTimeout(() => {
      void this.reconcileNow().finally(() => {
        if (this.#timer !== undefined) this.#scheduleReconcile(intervalMs);
      });
    }, delay);
  }
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
