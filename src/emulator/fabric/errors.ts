/** Stable failure kinds of the test fabric. */
export type FabricErrorCode =
  | 'InvalidOption'
  | 'PrefixInUse'
  | 'ToolMissing'
  | 'CommandFailed'
  | 'CommandTimedOut'
  | 'UnknownInstance'
  | 'AddressClash'
  | 'Closed';

/** A fabric failure: which step failed and why, with the command's stderr where there is one. */
export class FabricError extends Error {
  override readonly name = 'FabricError';
  readonly code: FabricErrorCode;

  constructor(code: FabricErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}
