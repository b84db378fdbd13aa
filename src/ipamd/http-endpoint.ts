/**
 * A small read-only HTTP endpoint of the daemon (metrics, introspection): GET and HEAD only,
 * short timeouts, and a listen that never stops the daemon — when the port is taken (another
 * daemon on the host, aws-node still running) it logs why and tries again every
 * {@link LISTEN_RETRY_MS}, while the daemon serves pods.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';

export const LISTEN_RETRY_MS = 30_000;

export interface HttpReply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

export interface HttpEndpointOptions {
  /** What it serves, for log lines ("metrics"). */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Answers a GET for `path` (query string removed), with the parsed query. */
  readonly handle: (path: string, query: URLSearchParams) => Promise<HttpReply> | HttpReply;
  readonly logger: Logger;
  /**
   * `retry` (default): a listen that fails is logged and tried again every {@link LISTEN_RETRY_MS};
   * `throw`: start() throws, naming the address (an endpoint the daemon cannot run without).
   */
  readonly onListenError?: 'retry' | 'throw';
}

export class HttpEndpoint {
  readonly #options: HttpEndpointOptions;
  #server: Server | undefined;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;
  #listening = false;

  constructor(options: HttpEndpointOptions) {
    this.#options = options;
  }

  /** True once listening. */
  get listening(): boolean {
    return this.#listening;
  }

  /** The port listened on (the configured one, or the one the kernel chose for port 0). */
  get port(): number | undefined {
    const address = this.#server?.address();
    return typeof address === 'object' && address !== null ? address.port : undefined;
  }

  /** Starts listening; resolves after the first attempt, whether it succeeded or will be retried (or throws, with `onListenError: 'throw'`). */
  async start(): Promise<void> {
    const server = createServer((request, response) => void this.#serve(request, response));
    server.keepAliveTimeout = 5_000;
    server.requestTimeout = 10_000;
    server.headersTimeout = 5_000;
    this.#server = server;
    await this.#listen();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    // Also when a listen is still pending: closing then makes it fail instead of serving on.
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #listen(): Promise<void> {
    const { host, port, name, logger } = this.#options;
    const server = this.#server;
    if (server === undefined || this.#closed) return;
    try {
      await new Promise<void>((resolve, reject) => {
        const failed = (error: Error) => reject(error);
        server.once('error', failed);
        server.listen(port, host, () => {
          server.off('error', failed);
          resolve();
        });
      });
      if (this.#closed) {
        server.close();
        return;
      }
      // An error after listening (rare: the socket fails) is logged, never thrown at the daemon.
      server.on('error', (error) => logger.warn({ err: error }, `${name}: server error`));
      this.#listening = true;
      logger.info({ address: `${host}:${this.port ?? port}` }, `serving ${name}`);
    } catch (error) {
      if (this.#closed) return;
      if (this.#options.onListenError === 'throw') {
        this.#server = undefined;
        throw new Error(`cannot serve ${name} on ${host}:${port}: ${(error as Error).message}`, { cause: error });
      }
      logger.error({ err: error, address: `${host}:${port}`, retryInMs: LISTEN_RETRY_MS }, `cannot serve ${name} on ${host}:${port}; trying again in ${LISTEN_RETRY_MS / 1000} s (pods are served meanwhile)`);
      this.#retry = setTimeout(() => void this.#listen(), LISTEN_RETRY_MS);
      this.#retry.unref();
    }
  }

  async #serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const send = (reply: HttpReply) => {
      response.writeHead(reply.status, { 'content-type': reply.contentType, 'cache-control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : reply.body);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      send({ status: 405, contentType: 'text/plain; charset=utf-8', body: 'GET only\n' });
      return;
    }
    const url = new URL(request.url ?? '/', 'http://endpoint');
    try {
      send(await this.#options.handle(url.pathname, url.searchParams));
    } catch (error) {
      this.#options.logger.warn({ err: error, path: url.pathname }, `${this.#options.name}: answering failed`);
      if (!response.headersSent) send({ status: 500, contentType: 'text/plain; charset=utf-8', body: `error: ${error instanceof Error ? error.message : String(error)}\n` });
    }
  }
}

/** A JSON reply. */
export function jsonReply(value: unknown, status = 200): HttpReply {
  return { status, contentType: 'application/json; charset=utf-8', body: `${JSON.stringify(value, null, 2)}\n` };
}

/** A plain-text reply. */
export function textReply(body: string, status = 200): HttpReply {
  return { status, contentType: 'text/plain; charset=utf-8', body };
}
