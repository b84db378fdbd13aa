/**
 * Gives memory back after a burst on the socket. V8 collects garbage only when it allocates, so
 * a daemon that goes quiet after a flood (hundreds of peers sending frames, or never reading
 * their replies) keeps that garbage resident for good: the socket-attack bench measured 217 MiB a
 * minute after 500 peers each sent 1,000 requests, and 103 MiB after one forced full collection.
 * So once the socket has had at most `quietConnections` connections open for `quietMs` (the burst
 * is over; the container runtime's periodic CNI STATUS and the odd ADD go on), and enough bytes
 * have crossed it since the last collection to make one worth it, the daemon collects once (`global.gc`, exposed by the
 * launcher's --expose-gc). A full collection of a ~100 MiB heap takes tens of milliseconds; the
 * threshold and the interval bound how often that can happen.
 */

export interface IdleCollectorOptions {
  /** Runs a full collection; undefined (no --expose-gc): the collector does nothing. */
  readonly gc: (() => void) | undefined;
  /** Bytes that must have crossed the socket since the last collection (each connection counts `connectionBytes` more). */
  readonly thresholdBytes: number;
  /** What one connection leaves behind besides its bytes (socket objects, read buffers). */
  readonly connectionBytes: number;
  /** How long the socket must stay at or below `quietConnections` open connections. */
  readonly quietMs: number;
  /** Open connections that still count as quiet: ordinary traffic, not a burst. */
  readonly quietConnections: number;
  /** Least time between two collections. */
  readonly minIntervalMs: number;
  readonly clock?: () => number;
}

/**
 * 32 MiB: two shared partial-frame budgets' worth. A connection counts 16 KiB besides its bytes
 * (2,100 idle connections left ~10 MiB resident in the socket-limits test), so ordinary pod churn,
 * a few KiB per CNI call, triggers a collection about once per 1,500 calls, and only after 1 s
 * with at most 8 connections open (a node's ordinary concurrent CNI calls); at most one each 10 s (a full collection of a 250 MiB heap blocks for
 * ~0.1 s: at most 1 % of the time, and only while bursts keep coming). A minute between
 * collections left a burst that followed another one uncollected for that minute (bench).
 */
export const DEFAULT_IDLE_COLLECTOR = { thresholdBytes: 32 * 1024 * 1024, connectionBytes: 16 * 1024, quietMs: 1_000, quietConnections: 8, minIntervalMs: 10_000 } as const;

export class IdleCollector {
  readonly #options: IdleCollectorOptions;
  readonly #clock: () => number;
  #bytes = 0;
  #lastMs = -Infinity;
  #timer: NodeJS.Timeout | undefined;
  #collections = 0;
  #open = 0;

  constructor(options: IdleCollectorOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
  }

  /** Collections run so far. */
  get collections(): number {
    return this.#collections;
  }

  /** A connection closed after moving `bytes` (read and written; 0 for one refused at the cap). */
  noteClosed(bytes: number): void {
    this.#bytes += bytes + this.#options.connectionBytes;
  }

  /** The socket has `open` connections now: at or below quietConnections the quiet period runs, above it ends. */
  connections(open: number): void {
    this.#open = open;
    if (open > this.#options.quietConnections) {
      this.#cancel();
      return;
    }
    if (this.#timer !== undefined || this.#options.gc === undefined || this.#bytes < this.#options.thresholdBytes) return;
    this.#collectIn(this.#options.quietMs);
  }

  close(): void {
    this.#cancel();
  }

  #collect(): void {
    if (this.#open > this.#options.quietConnections) return;
    const now = this.#clock();
    if (now - this.#lastMs < this.#options.minIntervalMs) {
      // Too soon: try again once the interval has passed, if still quiet then.
      this.#collectIn(this.#lastMs + this.#options.minIntervalMs - now);
      return;
    }
    this.#lastMs = now;
    this.#bytes = 0;
    this.#collections += 1;
    this.#options.gc?.();
  }

  #collectIn(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#collect();
    }, ms);
    this.#timer.unref();
  }

  #cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
