/**
 * The daemon's Unix socket: root-only (directory 0700, socket 0600), one request handler per
 * method, and the socket's limits (src/rpc/socket-limits.ts): connections beyond the cap are
 * refused with a `ConnectionLimit` frame, and all connections share one budget of bytes in partly
 * received frames. Frame decoding and error replies live in src/rpc, shared with the plugin.
 */
import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { endConnection } from '../../rpc/end-connection.js';
import { rpcErrorBody } from '../../rpc/errors.js';
import { SharedFrameBudget } from '../../rpc/frame-budget.js';
import { encodeFrame } from '../../rpc/framing.js';
import { PROTOCOL_VERSION, type MethodMap, type RpcMethod, type RpcRequest } from '../../rpc/protocol.js';
import { serveConnection } from '../../rpc/server-connection.js';
import { socketLimits, type SocketLimits } from '../../rpc/socket-limits.js';
import { DEFAULT_IDLE_COLLECTOR, IdleCollector } from '../idle-collector.js';

export type RpcHandlers = { [M in RpcMethod]: (params: MethodMap[M]['params']) => Promise<MethodMap[M]['result']> | MethodMap[M]['result'] };

export interface RpcServerOptions {
  readonly socketPath: string;
  readonly handlers: RpcHandlers;
  readonly logger: Logger;
  /** Overrides of DEFAULT_SOCKET_LIMITS (tests shorten the timeouts). */
  readonly limits?: Partial<SocketLimits>;
  /** A full garbage collection, run once the socket goes quiet after a burst (see idle-collector.ts). Default: `global.gc` when exposed. */
  readonly gc?: () => void;
}

export class RpcServer {
  readonly #socketPath: string;
  readonly #handlers: RpcHandlers;
  readonly #logger: Logger;
  readonly #limits: SocketLimits;
  readonly #budget: SharedFrameBudget;
  readonly #connections = new Set<Socket>();
  /** Refused connections until their refusal is flushed (at most closeGraceMs each). */
  readonly #refused = new Set<Socket>();
  /** Connections refused since the cap was last reached; logged once per episode. */
  #refusedInEpisode = 0;
  #server: Server | undefined;
  readonly #collector: IdleCollector;

  /** Throws a RangeError when a limit is not a whole positive number. */
  constructor(options: RpcServerOptions) {
    this.#socketPath = options.socketPath;
    this.#handlers = options.handlers;
    this.#logger = options.logger;
    this.#limits = socketLimits(options.limits);
    this.#budget = new SharedFrameBudget(this.#limits.maxBufferedBytes);
    const exposed = (globalThis as { gc?: (options?: { type: string; execution: string; flavor: string }) => void }).gc;
    // `last-resort`: V8's collect-all-available-garbage, which also compacts and gives freed pages
    // back; a plain gc() collected the bench's 24 MiB of dead reply buffers but left RSS at 225 MiB.
    const gc = options.gc ?? (exposed === undefined ? undefined : () => exposed({ type: 'major', execution: 'sync', flavor: 'last-resort' }));
    this.#collector = new IdleCollector({
      ...DEFAULT_IDLE_COLLECTOR,
      gc:
        gc === undefined
          ? undefined
          : () => {
              const before = process.memoryUsage().rss;
              const started = performance.now();
              gc();
              const ms = Math.round(performance.now() - started);
              this.#logger.info({ ms, rssMiB: { before: mib(before), after: mib(process.memoryUsage().rss) } }, 'socket quiet after a burst: collected garbage');
            },
    });
  }

  /** Full collections run after bursts on the socket. */
  get idleCollections(): number {
    return this.#collector.collections;
  }

  /** Connections being served now (refused ones not counted). */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Bytes of partly received frames reserved now, across all connections. */
  get bufferedFrameBytes(): number {
    return this.#budget.reservedBytes;
  }

  async start(): Promise<void> {
    await mkdir(dirname(this.#socketPath), { recursive: true, mode: 0o700 });
    // A socket file left by a daemon that died; nothing can be listening on it any more because
    // only one daemon runs per node (the lock main.ts takes before this), so it is safe to remove.
    await rm(this.#socketPath, { force: true });
    const server = createServer({ allowHalfOpen: true }, (socket) => this.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    await chmod(this.#socketPath, 0o600);
    this.#server = server;
    this.#logger.info({ socket: this.#socketPath, limits: this.#limits }, 'listening');
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    this.#collector.close();
    for (const socket of [...this.#connections, ...this.#refused]) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(this.#socketPath, { force: true });
  }

  #accept(socket: Socket): void {
    const limits = this.#limits;
    if (this.#connections.size >= limits.maxConnections) {
      this.#refuse(socket);
      return;
    }
    if (this.#refusedInEpisode > 0) {
      this.#logger.info({ refused: this.#refusedInEpisode, maxConnections: limits.maxConnections }, 'rpc connections below the limit again');
      this.#refusedInEpisode = 0;
    }
    this.#connections.add(socket);
    this.#collector.connections(this.#connections.size);
    socket.on('close', () => {
      this.#connections.delete(socket);
      this.#collector.noteClosed(socket.bytesRead + socket.bytesWritten);
      this.#collector.connections(this.#connections.size + this.#refused.size);
    });
    void serveConnection(socket, (request) => this.#dispatch(request), {
      logger: this.#logger,
      frameBudget: this.#budget,
      maxFrameBytes: limits.maxFrameBytes,
      idleTimeoutMs: limits.idleTimeoutMs,
      frameTimeoutMs: limits.frameTimeoutMs,
      closeGraceMs: limits.closeGraceMs,
      maxReplyBacklogBytes: limits.maxReplyBacklogBytes,
    });
  }

  #refuse(socket: Socket): void {
    const max = this.#limits.maxConnections;
    if (this.#refusedInEpisode === 0) this.#logger.warn({ maxConnections: max }, 'rpc connection limit reached; refusing new connections');
    this.#refusedInEpisode += 1;
    if (this.#refused.size >= max) {
      // A flood: refusals being read are bounded too; past that, close without a word.
      socket.destroy();
      return;
    }
    this.#refused.add(socket);
    socket.on('close', () => {
      this.#refused.delete(socket);
      this.#collector.noteClosed(0);
      this.#collector.connections(this.#connections.size + this.#refused.size);
    });
    const message = `nativeip-ipamd is serving ${this.#connections.size} connections, its limit (${max}); try again`;
    endConnection(socket, this.#limits.closeGraceMs, encodeFrame({ v: PROTOCOL_VERSION, id: 0, error: rpcErrorBody('ConnectionLimit', message) }));
  }

  async #dispatch(request: RpcRequest): Promise<unknown> {
    const handler = this.#handlers[request.method] as (params: unknown) => unknown;
    return handler(request.params);
  }
}

function mib(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}
