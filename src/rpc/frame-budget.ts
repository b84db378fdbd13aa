/**
 * The bytes a server may hold in partly received frames, shared by all its connections, so that
 * many slow or stalled peers together cannot make the daemon buffer more than one fixed amount.
 * Node built-ins only (framing.ts, which the CNI plugin imports, uses it).
 */
import { FrameRefusal } from './frame-refusal.js';

/** What a {@link FrameDecoder} asks before it buffers a frame that did not arrive in one chunk. */
export interface FrameBudget {
  /** The most bytes that may be reserved at once. */
  readonly limitBytes: number;
  /** Bytes reserved now. */
  readonly reservedBytes: number;
  /**
   * Reserves `bytes` and returns true, or returns false and reserves nothing when that would pass
   * `limitBytes`. Never throws.
   */
  tryReserve(bytes: number): boolean;
  /** Gives back bytes reserved earlier. Releasing more than is reserved clamps at zero. */
  release(bytes: number): void;
}

/** A {@link FrameBudget} counted in memory; one per server. */
export class SharedFrameBudget implements FrameBudget {
  readonly limitBytes: number;
  #reserved = 0;

  constructor(limitBytes: number) {
    if (!Number.isSafeInteger(limitBytes) || limitBytes < 0) throw new RangeError(`frame budget must be a whole number of bytes ≥ 0, got ${limitBytes}`);
    this.limitBytes = limitBytes;
  }

  get reservedBytes(): number {
    return this.#reserved;
  }

  tryReserve(bytes: number): boolean {
    if (this.#reserved + bytes > this.limitBytes) return false;
    this.#reserved += bytes;
    return true;
  }

  release(bytes: number): void {
    this.#reserved = Math.max(0, this.#reserved - bytes);
  }
}

/** A frame was refused because the shared budget had no room for it; it was not buffered. */
export class FrameBudgetError extends FrameRefusal {
  override readonly name = 'FrameBudgetError';
  readonly code = 'ConnectionLimit' as const;
  readonly rpcCode = 'ConnectionLimit' as const;
  readonly retryable = true;
}
