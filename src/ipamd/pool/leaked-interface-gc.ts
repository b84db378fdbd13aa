/**
 * Periodically asks the cloud provider to delete leaked interfaces (CloudProvider
 * .collectLeakedInterfaces), with ±20 % jitter so a fleet of nodes does not sweep in lockstep.
 * The provider also uses the sweep to finish interface work left unfinished (AWS: an ENI's
 * DeleteOnTermination that was throttled, failed, or found unset), so a sweep that fails is
 * simply tried again at the next period. Constructing does no I/O; start() and close() are explicit.
 */
import type { Logger } from 'pino';
import type { CloudProvider } from '../../core/types.js';

export interface LeakedInterfaceGcOptions {
  readonly provider: Pick<CloudProvider, 'collectLeakedInterfaces'>;
  /** Mean period between sweeps. */
  readonly intervalMs: number;
  readonly logger: Logger;
  /** Uniform [0, 1) source for the jitter; Math.random by default. */
  readonly random?: () => number;
  /** Told of the interfaces each sweep deleted (metrics). */
  readonly onCollected?: (ids: readonly string[]) => void;
}

/** The delay before the next sweep: the interval ±20 %. */
export function jitteredDelay(intervalMs: number, random: () => number): number {
  return intervalMs * (0.8 + random() * 0.4);
}

export class LeakedInterfaceGc {
  readonly #options: LeakedInterfaceGcOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<string[]> | undefined;
  #closed = false;

  constructor(options: LeakedInterfaceGcOptions) {
    this.#options = options;
  }

  /** True when the provider can collect leaked interfaces at all. */
  get supported(): boolean {
    return this.#options.provider.collectLeakedInterfaces !== undefined;
  }

  start(): void {
    if (!this.supported || this.#closed) return;
    this.#schedule();
  }

  /** One sweep now (single flight); resolves with the ids deleted. Failures are logged, not thrown. */
  runNow(): Promise<string[]> {
    const collect = this.#options.provider.collectLeakedInterfaces;
    if (collect === undefined) return Promise.resolve([]);
    this.#running ??= collect
      .call(this.#options.provider)
      .then((ids) => {
        if (ids.length > 0) this.#options.onCollected?.(ids);
        return ids;
      })
      .catch((error: unknown) => {
        this.#options.logger.warn({ err: error }, 'collecting leaked interfaces failed');
        return [];
      })
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  #schedule(): void {
    const delay = jitteredDelay(this.#options.intervalMs, this.#options.random ?? Math.random);
    this.#timer = setTimeout(() => {
      void this.runNow().finally(() => {
        if (!this.#closed) this.#schedule();
      });
    }, delay);
    this.#timer.unref();
  }
}
