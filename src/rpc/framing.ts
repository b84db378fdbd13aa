/**
 * Length-prefixed JSON frames: a 4-byte big-endian length, then that many bytes of UTF-8 JSON.
 * Node built-ins only (the CNI plugin imports this).
 */

import { FrameBudgetError, type FrameBudget } from './frame-budget.js';
import { FrameRefusal } from './frame-refusal.js';
import { MAX_FRAME_BYTES } from './protocol.js';

const HEADER_BYTES = 4;

/** A frame could not be encoded or decoded. The connection it came from cannot be trusted. */
export class FrameError extends FrameRefusal {
  override readonly name = 'FrameError';
  readonly code = 'BadFrame' as const;
  readonly rpcCode = 'BadFrame' as const;
  readonly retryable = false;
}

/** Encodes one value as a frame. Throws {@link FrameError} if it is not JSON or is too large. */
export function encodeFrame(value: unknown, maxFrameBytes: number = MAX_FRAME_BYTES): Buffer {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    throw new FrameError(`cannot encode frame as JSON: ${errorMessage(err)}`, { cause: err });
  }
  if (json === undefined) {
    throw new FrameError(`cannot encode a value of type ${typeof value} as JSON`);
  }
  const bodyBytes = Buffer.byteLength(json, 'utf8');
  if (bodyBytes > maxFrameBytes) {
    throw new FrameError(`frame length ${bodyBytes} exceeds ${maxFrameBytes} bytes`);
  }
  const frame = Buffer.allocUnsafe(HEADER_BYTES + bodyBytes);
  frame.writeUInt32BE(bodyBytes, 0);
  frame.write(json, HEADER_BYTES, 'utf8');
  return frame;
}

/**
 * Incremental decoder: feed it chunks as they arrive, get back every complete frame's value.
 * After it throws once it stays failed: every later `push` throws the same error.
 *
 * A frame that arrives whole inside one chunk is parsed from that chunk without a copy. A frame
 * split across chunks is copied into one buffer of exactly its announced length, allocated when
 * its first body bytes arrive and dropped the moment it is parsed, so the decoder never holds the
 * socket's chunks (a list of retained chunks is what kept a stalled peer's megabytes resident).
 * With a `budget`, that buffer is first reserved there; when the budget has no room the frame is
 * refused ({@link FrameBudgetError}) before anything of it is buffered.
 */
export class FrameDecoder {
  readonly #maxFrameBytes: number;
  readonly #budget: FrameBudget | undefined;
  readonly #utf8 = new TextDecoder('utf-8', { fatal: true });
  readonly #header = Buffer.alloc(HEADER_BYTES);
  #headerFill = 0;
  #expected: number | undefined;
  #body: Buffer | undefined;
  #bodyFill = 0;
  #reserved = 0;
  #failure: FrameRefusal | undefined;

  constructor(options: { maxFrameBytes?: number; budget?: FrameBudget } = {}) {
    this.#maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.#budget = options.budget;
  }

  /** Bytes received but not yet part of a complete frame. */
  get bufferedBytes(): number {
    return this.#headerFill + this.#bodyFill;
  }

  /** The announced length of the frame being received, or undefined between frames. */
  get expectedBytes(): number | undefined {
    return this.#expected;
  }

  /** True once a frame (or header) has been received only in part. */
  get hasPartialFrame(): boolean {
    return this.#headerFill > 0 || this.#expected !== undefined;
  }

  /**
   * Adds a chunk and returns the values of the frames it completed, in order.
   * Throws {@link FrameError} (code `BadFrame`) for an oversized length prefix, an empty frame,
   * invalid UTF-8 or invalid JSON, and {@link FrameBudgetError} (code `ConnectionLimit`) when the
   * budget has no room for a frame that must be buffered; values decoded earlier in the same call
   * are in the error's `decodedBefore`.
   */
  push(chunk: Uint8Array): unknown[] {
    if (this.#failure) throw this.#failure;
    const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    const values: unknown[] = [];
    let at = 0;
    while (at < data.length) {
      if (this.#expected === undefined) {
        at = this.#readHeader(data, at, values);
        if (this.#expected === undefined) break;
      }
      const expected: number = this.#expected;
      if (this.#body === undefined && data.length - at >= expected) {
        this.#expected = undefined;
        values.push(this.#parse(data.subarray(at, at + expected), values));
        at += expected;
        continue;
      }
      const body = this.#body ?? this.#startBody(expected, values);
      const used = Math.min(expected - this.#bodyFill, data.length - at);
      data.copy(body, this.#bodyFill, at, at + used);
      this.#bodyFill += used;
      at += used;
      if (this.#bodyFill < expected) break;
      this.#dropBody();
      this.#expected = undefined;
      values.push(this.#parse(body, values));
    }
    return values;
  }

  /**
   * Drops a partly received frame and gives its reservation back to the budget. Call it when the
   * connection closes; idempotent. Later pushes start from a frame boundary.
   */
  dispose(): void {
    this.#dropBody();
    this.#expected = undefined;
    this.#headerFill = 0;
  }

  /** Reads (the rest of) a length prefix from `data` at `at`; returns the offset after it. */
  #readHeader(data: Buffer, at: number, values: unknown[]): number {
    let length: number;
    if (this.#headerFill === 0 && data.length - at >= HEADER_BYTES) {
      length = data.readUInt32BE(at);
      at += HEADER_BYTES;
    } else {
      const used = Math.min(HEADER_BYTES - this.#headerFill, data.length - at);
      data.copy(this.#header, this.#headerFill, at, at + used);
      this.#headerFill += used;
      at += used;
      if (this.#headerFill < HEADER_BYTES) return at;
      this.#headerFill = 0;
      length = this.#header.readUInt32BE(0);
    }
    if (length > this.#maxFrameBytes) {
      this.#fail(`frame length ${length} exceeds ${this.#maxFrameBytes} bytes (is the peer speaking this protocol?)`, values);
    }
    if (length === 0) this.#fail('frame is empty (length 0); expected JSON', values);
    this.#expected = length;
    return at;
  }

  #startBody(expected: number, values: unknown[]): Buffer {
    const budget = this.#budget;
    if (budget !== undefined && !budget.tryReserve(expected)) {
      this.#failure = new FrameBudgetError(
        `refused a frame of ${expected} bytes: the daemon already buffers ${budget.reservedBytes} bytes of partly received frames ` +
          `and its limit is ${budget.limitBytes} bytes; try again`,
        { decodedBefore: [...values] },
      );
      this.dispose();
      throw this.#failure;
    }
    this.#reserved = budget === undefined ? 0 : expected;
    // Not from Node's shared pool: a pooled slice would keep its whole 8 KiB slab alive.
    this.#body = Buffer.allocUnsafeSlow(expected);
    this.#bodyFill = 0;
    return this.#body;
  }

  #dropBody(): void {
    this.#body = undefined;
    this.#bodyFill = 0;
    if (this.#reserved > 0) this.#budget?.release(this.#reserved);
    this.#reserved = 0;
  }

  #parse(body: Buffer, decodedBefore: unknown[]): unknown {
    let text: string;
    try {
      text = this.#utf8.decode(body);
    } catch (err) {
      return this.#fail(`frame of ${body.length} bytes is not valid UTF-8`, decodedBefore, err);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      return this.#fail(`frame is not valid JSON: ${errorMessage(err)}`, decodedBefore, err);
    }
  }

  #fail(message: string, decodedBefore: unknown[], cause?: unknown): never {
    this.#failure = new FrameError(message, { cause, decodedBefore: [...decodedBefore] });
    this.dispose();
    throw this.#failure;
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
