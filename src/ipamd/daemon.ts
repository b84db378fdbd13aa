/**
 * Composition of the daemon's parts: pool manager, IPAM service, RPC server and the reconcile
 * timer. Constructing does no I/O; start() and close() are explicit.
 */
import { access } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Datapath } from '../cni/datapath/types.js';
import type { CloudProvider } from '../core/types.js';
import type { Checkpoint } from './checkpoint.js';
import type { DaemonConfig } from './config.js';
import { poolPolicyOf } from './pool-targets.js';
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

  constructor(parts: DaemonParts) {
    this.#parts = parts;
    const { config, logger, provider, datapath, checkpoint, clock } = parts;
    const { targets, adaptive } = poolPolicyOf(config);
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
    this.#rpc = new RpcServer({
      socketPath: config.socketPath,
      logger: logger.child({ part: 'rpc' }),
      handlers: {
        add: (params) => service.add(params),
        del: (params) => service.del(params),
        check: (params) => service.check(params),
        gc: (params) => service.gc(params),
        status: () => service.currentStatus(),
      },
    });
  }

  /** Discovers the node, restores the checkpoint, opens the socket and starts warming the pool. */
  async start(): Promise<void> {
    const { logger, config, checkpoint, provider } = this.#parts;
    // Operations in flight when the daemon stopped are finished by the provider, not repeated.
    const providerState = (await checkpoint.load())?.providerState;
    if (providerState !== undefined) provider.restoreState?.(providerState);
    await this.pool.start();
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
