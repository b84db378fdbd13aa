/**
 * Composition of the daemon's parts: pool manager, IPAM service, RPC server and the reconcile
 * timer. Constructing does no I/O; start() and close() are explicit.
 */
import { access } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { EgressNat, SnatRules } from '../cni/datapath/snat.js';
import type { Datapath } from '../cni/datapath/types.js';
import type { CloudProvider } from '../core/types.js';
import type { Checkpoint } from './checkpoint.js';
import type { DaemonConfig } from './config.js';
import { poolPolicyOf } from './pool-targets.js';
import type { AddParams, CheckParams, DelParams, GcParams } from '../rpc/protocol.js';
import { createExecHandler } from './exec-handler.js';
import { IpamService } from './ipam-service.js';
import { LeakedInterfaceGc } from './leaked-interface-gc.js';
import { PoolManager } from './pool-manager.js';
import { RpcServer } from './rpc-server.js';

export interface DaemonParts {
  readonly config: DaemonConfig;
  readonly logger: Logger;
  readonly provider: CloudProvider;
  readonly datapath: Datapath;
  readonly checkpoint: Checkpoint;
  /** SNAT of pod traffic leaving the VPC (AWS without external SNAT). Unset: no NAT is programmed. */
  readonly egressNat?: EgressNat;
  readonly clock?: () => number;
}

/** How long an ADD waits for a grow under way before it answers "try again later". */
const ACQUIRE_TIMEOUT_MS = 20_000;

export class Daemon {
  readonly pool: PoolManager;
  readonly service: IpamService;
  readonly #parts: DaemonParts;
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

  constructor(parts: DaemonParts) {
    this.#parts = parts;
    const { config, logger, provider, datapath, checkpoint, clock } = parts;
    const { targets, adaptive } = poolPolicyOf(config);
    this.#snat = !config.externalSnat && provider.name === 'aws';
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
      providerState: () => provider.resumeState?.(),
      ...(clock === undefined ? {} : { clock }),
    });
    this.#leakedInterfaceGc = new LeakedInterfaceGc({
      provider,
      intervalMs: config.eniGcIntervalMs,
      logger: logger.child({ part: 'eni-gc' }),
    });
    const service = this.service;
    provider.onResumeStateChange?.(() => service.persist());
    const handlers = {
      add: (params: AddParams) => service.add(params),
      del: (params: DelParams) => service.del(params),
      check: (params: CheckParams) => service.check(params),
      gc: (params: GcParams) => service.gc(params),
      status: () => service.currentStatus(),
    };
    this.#rpc = new RpcServer({
      socketPath: config.socketPath,
      logger: logger.child({ part: 'rpc' }),
      handlers: { ...handlers, exec: createExecHandler(handlers) },
    });
  }

  /** Discovers the node, restores the checkpoint, opens the socket and starts warming the pool. */
  async start(): Promise<void> {
    const { logger, config, checkpoint, provider } = this.#parts;
    // Operations in flight when the daemon stopped are finished by the provider, not repeated.
    const providerState = (await checkpoint.load())?.providerState;
    if (providerState !== undefined) provider.restoreState?.(providerState);
    await this.pool.start();
    await this.#syncEgressNat();
    await this.service.restore();
    if (providerState !== undefined) await this.service.persist();
    await this.service.releaseEndedPods();
    await this.#rpc.start();
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
      .then(() => this.#syncEgressNat())
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
    await this.#leakedInterfaceGc.close();
    await this.#rpc.close();
    await this.#reconciling;
    this.#parts.datapath.close();
  }

  /** Destinations a pod on a secondary interface reaches through it while SNAT is on. */
  #snatDestinations(): readonly string[] {
    return [...new Set([...this.pool.node.vpcCidrs, ...this.#parts.config.excludeSnatCidrs])];
  }

  /**
   * Installs (or updates, when the VPC CIDRs changed) the SNAT rule; with external SNAT removes
   * one an earlier run left. Throws when the rule cannot be installed.
   */
  async #syncEgressNat(): Promise<void> {
    const { egressNat, config, logger, provider } = this.#parts;
    if (egressNat === undefined || provider.name !== 'aws') return;
    if (!this.#snat) {
      await egressNat.remove().catch((error: unknown) => logger.warn({ err: error }, 'could not remove the SNAT rules of an earlier run'));
      return;
    }
    const node = this.pool.node;
    const rules: SnatRules = {
      primaryIp: node.primaryIp,
      vpcCidrs: node.vpcCidrs,
      excludedCidrs: config.excludeSnatCidrs,
      podInterfacePrefix: config.vethPrefix,
      ports: config.randomizeSnat,
    };
    await egressNat.apply(rules);
    logger.debug({ snat: rules }, 'SNAT of traffic leaving the VPC in place');
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
