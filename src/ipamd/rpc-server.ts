/**
 * The daemon's Unix socket: root-only (directory 0700, socket 0600), one request handler per
 * method. Frame decoding and error replies live in src/rpc, shared with the plugin.
 */
import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { MethodMap, RpcMethod, RpcRequest } from '../rpc/protocol.js';
import { serveConnection } from '../rpc/server-connection.js';

export type RpcHandlers = { [M in RpcMethod]: (params: MethodMap[M]['params']) => Promise<MethodMap[M]['result']> | MethodMap[M]['result'] };

export class RpcServer {
  readonly #socketPath: string;
  readonly #handlers: RpcHandlers;
  readonly #logger: Logger;
  readonly #connections = new Set<Socket>();
  #server: Server | undefined;

  constructor(options: { socketPath: string; handlers: RpcHandlers; logger: Logger }) {
    this.#socketPath = options.socketPath;
    this.#handlers = options.handlers;
    this.#logger = options.logger;
  }

  async start(): Promise<void> {
    await mkdir(dirname(this.#socketPath), { recursive: true, mode: 0o700 });
    // A socket file left by a daemon that died; nothing can be listening on it any more because
    // only one daemon runs per node (the DaemonSet), so it is safe to remove.
    await rm(this.#socketPath, { force: true });
    const server = createServer({ allowHalfOpen: true }, (socket) => {
      this.#connections.add(socket);
      socket.on('close', () => this.#connections.delete(socket));
      serveConnection(socket, (request) => this.#dispatch(request), { logger: this.#logger });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    await chmod(this.#socketPath, 0o600);
    this.#server = server;
    this.#logger.info({ socket: this.#socketPath }, 'listening');
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    for (const socket of this.#connections) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(this.#socketPath, { force: true });
  }

  async #dispatch(request: RpcRequest): Promise<unknown> {
    const handler = this.#handlers[request.method] as (params: unknown) => unknown;
    return handler(request.params);
  }
}
