/** RPC error types shared by the daemon (server side) and the plugin/CLI (client side). */

import { RPC_ERROR_CODES, type RpcErrorBody, type RpcErrorCode } from './protocol.js';

/** Codes whose failures go away by themselves; a retry later may succeed. */
const RETRYABLE_BY_DEFAULT: ReadonlySet<RpcErrorCode> = new Set(['PoolEmptyGrowing', 'NotReady', 'ConnectionLimit']);

/**
 * What the daemon throws from a handler to send a specific error reply. Anything else thrown is
 * reported as `Internal`.
 */
export class RpcServiceError extends Error {
  override readonly name = 'RpcServiceError';
  readonly rpcCode: RpcErrorCode;
  readonly retryable: boolean;

  constructor(code: RpcErrorCode, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.rpcCode = code;
    this.retryable = options.retryable ?? RETRYABLE_BY_DEFAULT.has(code);
  }

  get code(): RpcErrorCode {
    return this.rpcCode;
  }
}

/** Builds an error body, filling in the CNI code and the default `retryable` for `code`. */
export function rpcErrorBody(code: RpcErrorCode, message: string, retryable?: boolean): RpcErrorBody {
  return { code, cniCode: RPC_ERROR_CODES[code], message, retryable: retryable ?? RETRYABLE_BY_DEFAULT.has(code) };
}

/**
 * Maps anything thrown to an error body: an error with an `rpcCode` that is a key of
 * {@link RPC_ERROR_CODES} keeps that code (and its boolean `retryable`, if any); everything else
 * becomes `Internal` with the error's message.
 */
export function toRpcError(err: unknown): RpcErrorBody {
  if (typeof err === 'object' && err !== null) {
    const { rpcCode, retryable, message } = err as { rpcCode?: unknown; retryable?: unknown; message?: unknown };
    const text = typeof message === 'string' && message !== '' ? message : String(err);
    if (typeof rpcCode === 'string' && Object.hasOwn(RPC_ERROR_CODES, rpcCode)) {
      return rpcErrorBody(rpcCode as RpcErrorCode, text, typeof retryable === 'boolean' ? retryable : undefined);
    }
    return rpcErrorBody('Internal', text);
  }
  return rpcErrorBody('Internal', `non-error thrown: ${String(err)}`);
}

/**
 * How a call failed:
 * - `remote`: the daemon replied with an error (`body` is its reply);
 * - `unreachable`: could not connect (no socket file, connection refused, permission denied);
 * - `timeout`: no reply within the deadline;
 * - `disconnected`: connected, but the daemon closed the connection before replying;
 * - `protocol`: the reply could not be decoded, or its `v`/`id` did not match (`body` says why).
 */
export type RpcCallErrorKind = 'remote' | 'unreachable' | 'timeout' | 'disconnected' | 'protocol';

export class RpcCallError extends Error {
  override readonly name = 'RpcCallError';
  readonly kind: RpcCallErrorKind;
  readonly socketPath: string;
  /** The daemon's error reply (`remote`), or a synthesized body for `protocol` failures. */
  readonly body: RpcErrorBody | undefined;
  /** The errno code of a failed connect or socket error (`ENOENT`, `ECONNREFUSED`, …). */
  readonly errno: string | undefined;

  constructor(
    kind: RpcCallErrorKind,
    message: string,
    options: { socketPath: string; body?: RpcErrorBody; errno?: string; cause?: unknown },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.socketPath = options.socketPath;
    this.body = options.body;
    this.errno = options.errno;
  }

  /** True when the daemon could not be reached at all, so it cannot have acted on the request. */
  get unreachable(): boolean {
    return this.kind === 'unreachable';
  }

  get retryable(): boolean {
    if (this.body !== undefined) return this.body.retryable;
    return this.kind !== 'protocol';
  }
}
