/** What the frame decoder throws when it stops reading a connection; each kind says which RPC error the peer gets. */
export abstract class FrameRefusal extends Error {
  /** Lets `toRpcError` reply with the matching RPC error code. */
  abstract readonly rpcCode: 'BadFrame' | 'ConnectionLimit';
  abstract readonly retryable: boolean;
  /** Values decoded from the same `push` before the refused frame, in order. */
  readonly decodedBefore: readonly unknown[];

  constructor(message: string, options: { cause?: unknown; decodedBefore?: readonly unknown[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.decodedBefore = options.decodedBefore ?? [];
  }
}
