/**
 * How the daemon feeds its metrics and serves them: CNI requests timed at the RPC handlers (the
 * plugin shim's `exec` goes through them too), checkpoint writes timed, and the /metrics and
 * introspection endpoints built from the configuration.
 */
import type { Checkpoint } from '../checkpoint/checkpoint.js';
import type { DaemonConfig } from '../config/config.js';
import { KNOWN_NAMES } from '../config/config-variables.js';
import { HttpEndpoint, textReply } from '../http-endpoint.js';
import { introspect } from '../introspection.js';
import type { PoolManager } from '../pool/pool-manager.js';
import type { IpamService } from '../service/ipam-service.js';
import { NATIVEIP_VERSION } from '../../core/version.js';
import { RpcServiceError } from '../../rpc/errors.js';
import type { Logger } from 'pino';
import type { NodeMetrics } from './node-metrics.js';

/** The build info metric's labels. */
export function buildLabels(cloud: string): { version: string; nodejs: string; cloud: string } {
  return { version: NATIVEIP_VERSION, nodejs: process.version, cloud };
}

/** The same handlers, each counted and timed by command and result (ok, or the error code's name). */
export function timedHandlers<H extends { add: (p: never) => Promise<unknown>; del: (p: never) => Promise<unknown>; check: (p: never) => Promise<unknown>; gc: (p: never) => Promise<unknown>; status: () => Promise<unknown> }>(
  handlers: H,
  metrics: Pick<NodeMetrics, 'cniRequest'>,
): H {
  const timed =
    <P extends unknown[], R>(command: string, run: (...args: P) => Promise<R>) =>
    (...args: P): Promise<R> => {
      const started = performance.now();
      return run(...args).then(
        (result) => {
          metrics.cniRequest(command, 'ok', performance.now() - started);
          return result;
        },
        (error: unknown) => {
          metrics.cniRequest(command, error instanceof RpcServiceError ? error.code : 'InternalError', performance.now() - started);
          throw error;
        },
      );
    };
  return {
    ...handlers,
    add: timed('ADD', handlers.add),
    del: timed('DEL', handlers.del),
    check: timed('CHECK', handlers.check),
    gc: timed('GC', handlers.gc),
    status: timed('STATUS', handlers.status),
  };
}

/**
 * Every member of `T`, the optional ones too (undefined when the wrapped object lacks them): a
 * wrapper written as one forwards them all, so a member added to `T` later does not compile until
 * the wrapper says what to do with it.
 */
type Forwarding<T> = { readonly [K in keyof Required<T>]: T[K] };

/** The object a {@link Forwarding} describes, without the optional members it left undefined. */
function forwarded<T>(forwarding: Forwarding<T>): T {
  return Object.fromEntries(Object.entries(forwarding).filter(([, member]) => member !== undefined)) as T;
}

/** The checkpoint, timing each save; every other member forwarded as it is. */
export function timedCheckpoint(checkpoint: Checkpoint, written: (ms: number) => void): Checkpoint {
  return forwarded<Checkpoint>({
    load: () => checkpoint.load(),
    save: async (data) => {
      const started = performance.now();
      await checkpoint.save(data);
      written(performance.now() - started);
    },
    setAside: checkpoint.setAside === undefined ? undefined : () => checkpoint.setAside!(),
  });
}

/** The /metrics and introspection endpoints the configuration asks for (unset when off). */
export function observabilityEndpoints(parts: {
  readonly config: DaemonConfig;
  readonly metrics: NodeMetrics;
  readonly service: IpamService;
  readonly pool: PoolManager;
  readonly logger: Logger;
  readonly clock: () => number;
}): { metrics: HttpEndpoint | undefined; introspection: HttpEndpoint | undefined } {
  const { config, metrics, service, pool, logger, clock } = parts;
  const metricsAt = config.disableMetrics ? undefined : config.metricsAddress;
  const introspectionAt = config.disableIntrospection ? undefined : config.introspectionAddress;
  return {
    metrics:
      metricsAt === undefined
        ? undefined
        : new HttpEndpoint({
            name: 'metrics',
            ...metricsAt,
            logger: logger.child({ part: 'metrics' }),
            handle: async (path) => (path === '/metrics' ? { status: 200, contentType: metrics.contentType, body: await metrics.exposition() } : textReply('not found: /metrics is served\n', 404)),
          }),
    introspection:
      introspectionAt === undefined
        ? undefined
        : new HttpEndpoint({
            name: 'introspection',
            ...introspectionAt,
            logger: logger.child({ part: 'introspection' }),
            handle: (path) =>
              introspect(path, {
                status: () => service.status(),
                pool: () => pool.pool,
                node: () => pool.node,
                band: () => pool.adaptiveBand(),
                growing: () => pool.growing,
                pending: () => pool.pending,
                block: () => pool.block,
                config: () => config,
                variableNames: () => [...KNOWN_NAMES],
                env: () => process.env,
                clock,
              }),
          }),
  };
}
