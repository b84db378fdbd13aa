/**
 * Length-prefixed JSON frames: a 4-byte big-endian length, then that many bytes of UTF-8 JSON.
 * Node built-ins only (the CNI plugin imports this).
 */

import { MAX_FRAME_BYTES } from './protocol.js';

const HEADER_BYTES = 4;

/** A frame could not be encoded or decoded. The connection it came from cannot be trusted. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
  readonly code = 'BadFrame' as const;
  /** Lets `toRpcError` reply with the matching RPC error code. */
  readonly rpcCode = 'BadFrame' as const;
  readonly retryable = false;
  /** Values decoded from the same `push` before the bad frame, in order. */
  readonly decodedBefore: readonly unknown[];

  constructor(message: string, options: { cause?: unknown; decodedBefore?: readonly unknown[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.decodedBefore = options.decodedBefore ?? [];
  }
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
 */
export class FrameDecoder {
  readonly #maxFrameBytes: number;
  readonly #utf8 = new TextDecoder('utf-8', { fatal: true });
  #chunks: Buffer[] = [];
  #buffered = 0;
  #expected: number | undefined;
  #failure: FrameError | undefined;

  constructor(options: { maxFrameBytes?: number } = {}) {
    this.#maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
  }

  /** Bytes received but not yet part of a complete frame. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** True once a frame (or header) has been received only in part. */
  get hasPartialFrame(): boolean {
    return this.#buffered > 0 || this.#expected !== undefined;
  }

  /**
   * Adds a chunk and returns the values of the frames it completed, in order.
   * Throws {@link FrameError} (code `BadFrame`) for an oversized length prefix, invalid UTF-8 or
   * invalid JSON; values decoded earlier in the same call are in its `decodedBefore`.
   */
  push(chunk: Uint8Array): unknown[] {
    if (this.#failure) throw this.#failure;
    if (chunk.length > 0) {
      this.#chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      this.#buffered += chunk.length;
    }
    const values: unknown[] = [];
    for (;;) {
      if (this.#expected === undefined) {
        if (this.#buffered < HEADER_BYTES) break;
        const length = this.#take(HEADER_BYTES).readUInt32BE(0);
        if (length > this.#maxFrameBytes) {
          this.#fail(
            `frame length ${length} exceeds ${this.#maxFrameBytes} bytes (is the peer speaking this protocol?)`,
            values,
          );
        }
        this.#expected = length;
      }
      if (this.#buffered < this.#expected) break;
      const body = this.#take(this.#expected);
      this.#expected = undefined;
      values.push(this.#parse(body, values));
    }
    return values;
  }

  #parse(body: Buffer, decodedBefore: unknown[]): unknown {
    if (body.length === 0) this.#fail('frame is empty (length 0); expected JSON', decodedBefore);
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
    this.#chunks = [];
    this.#buffered = 0;
    throw this.#failure;
  }

  #take(n: number): Buffer {
    const first = this.#chunks[0];
    let out: Buffer;
    if (first !== undefined && first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const chunk = this.#chunks[0];
        if (chunk === undefined) throw new Error('FrameDecoder: took more bytes than buffered');
        const used = Math.min(chunk.length, n - filled);
        chunk.copy(out, filled, 0, used);
        filled += used;
        if (used === chunk.length) this.#chunks.shift();
        else this.#chunks[0] = chunk.subarray(used);
      }
    }
    this.#buffered -= n;
    return out;
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
