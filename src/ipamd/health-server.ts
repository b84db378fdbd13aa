/**
 * `/healthz` and `/readyz` over http for the DaemonSet's probes. Liveness answers from the event
 * loop alone, so a cloud or API outage never restarts the daemon; readiness is the pool's own
 * answer (it can serve, or it can grow).
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';

export interface HealthServerOptions {
  readonly host: string;
  readonly port: number;
  /** Undefined when ready, else why not (the body of a 503). */
  readonly notReadyReason: () => string | undefined;
  readonly logger: Logger;
}

export class HealthServer {
  readonly #options: HealthServerOptions;
  #server: Server | undefined;

  constructor(options: HealthServerOptions) {
    this.#options = options;
  }

  /** Listens; throws (naming the address) when it cannot. */
  async start(): Promise<void> {
    const { host, port, notReadyReason } = this.#options;
    const server = createServer((request, response) => {
      const path = (request.url ?? '').split('?')[0];
      const reply = (code: number, body: string) => {
        response.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
        response.end(`${body}\n`);
      };
      if (request.method !== 'GET' && request.method !== 'HEAD') return reply(405, 'GET only');
      if (path === '/healthz') return reply(200, 'ok');
      if (path === '/readyz') {
        const reason = notReadyReason();
        return reason === undefined ? reply(200, 'ok') : reply(503, `not ready: ${reason}`);
      }
      return reply(404, 'not found: /healthz and /readyz are served');
    });
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(new Error(`cannot serve health checks on ${host}:${port}: ${error.message}`, { cause: error })));
      server.listen(port, host, () => resolve());
    });
    this.#server = server;
    this.#options.logger.info({ address: `${host}:${port}` }, 'serving /healthz and /readyz');
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
