/**
 * One timer per connection for whichever limit applies now: idle (nothing to do), frame (a
 * frame begun but not completed) or reply (replies written that the peer does not read). Arming
 * replaces the previous timer.
 *
 * When the timer fires, the callback runs only after one more turn of the event loop's I/O
 * phase (setImmediate runs after the poll phase): if the daemon's loop was stalled, bytes the
 * peer sent meanwhile are read first and, by changing the connection's state, re-arm or clear
 * the deadline, so the daemon's own stall is not counted against the peer.
 */
export type DeadlineKind = 'idle' | 'frame' | 'reply';

export class ConnectionDeadline {
  readonly #onExpire: (kind: DeadlineKind, afterMs: number) => void;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #kind: DeadlineKind | undefined;

  constructor(onExpire: (kind: DeadlineKind, afterMs: number) => void) {
    this.#onExpire = onExpire;
  }

  /** The limit armed now, if any. */
  get kind(): DeadlineKind | undefined {
    return this.#kind;
  }

  /** (Re)starts the timer for `kind`, replacing any armed one. */
  arm(kind: DeadlineKind, afterMs: number): void {
    this.clear();
    this.#kind = kind;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#immediate = setImmediate(() => {
        this.#immediate = undefined;
        this.#kind = undefined;
        this.#onExpire(kind, afterMs);
      });
    }, afterMs);
  }

  /** Stops the timer; idempotent. */
  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
    this.#kind = undefined;
  }
}
