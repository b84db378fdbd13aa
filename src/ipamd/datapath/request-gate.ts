/**
 * Caps the requests in flight on one netlink socket. The kernel queues every reply (an ACK
 * carries the request back on error) in the socket's receive buffer, 208 KiB by default; a few
 * hundred pipelined requests overrun it, the kernel drops replies and the `netlink` package
 * aborts the process. Requests beyond the cap wait their turn, in order.
 */
export const MAX_IN_FLIGHT = 64;

export class RequestGate {
  readonly #limit: number;
  readonly #waiting: Array<() => void> = [];
  #inFlight = 0;

  constructor(limit = MAX_IN_FLIGHT) {
    this.#limit = Math.max(1, limit);
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Requests waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  async run<T>(request: () => Promise<T>): Promise<T> {
    if (this.#inFlight >= this.#limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#inFlight += 1;
    try {
      return await request();
    } finally {
      const next = this.#waiting.shift();
      // The slot passes straight to the next waiter, so the count stays at the cap.
      if (next !== undefined) next();
      else this.#inFlight -= 1;
    }
  }
}
