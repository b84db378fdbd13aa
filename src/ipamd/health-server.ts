/**
 * `/healthz` and `/readyz` over http for the DaemonSet's probes. Liveness answers from the event
 * loop alone, so a cloud or API outage never restarts the daemon; readiness is the pool's own
 * answer (it can serve, or it can grow). An HttpEndpoint that must listen: a daemon whose probes
 * cannot be answered fails its start, naming the address.
 */
import type { Logger } from 'pino';
import { HttpEndpoint, textReply } from './http-endpoint.js';

export interface HealthServerOptions {
  readonly host: string;
  readonly port: number;
  /** Undefined when ready, else why not (the body of a 503). */
  readonly notReadyReason: () => string | undefined;
  readonly logger: Logger;
}

export class HealthServer {
  readonly #endpoint: HttpEndpoint;

  constructor(options: HealthServerOptions) {
    const { notReadyReason } = options;
    this.#endpoint = new HttpEndpoint({
      name: 'health checks',
      host: options.host,
      port: options.port,
      logger: options.logger,
      onListenError: 'throw',
      handle: (path) => {
        if (path === '/healthz') return textReply('ok\n');
        if (path === '/readyz') {
          const reason = notReadyReason();
          return reason === undefined ? textReply('ok\n') : textReply(`not ready: ${reason}\n`, 503);
        }
        return textReply('not found: /healthz and /readyz are served\n', 404);
      },
    });
  }

  /** Listens; throws (naming the address) when it cannot. */
  start(): Promise<void> {
    return this.#endpoint.start();
  }

  close(): Promise<void> {
    return this.#endpoint.close();
  }
}
