/** CNI error codes and the error JSON the plugin prints on stdout. */

/** Codes from the CNI spec (below 100) and ours (100 on, shared with the RPC error codes). */
export const CNI_ERROR = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  TryAgainLater: 11,
  /** STATUS: the plugin cannot serve ADD (the daemon is down or still starting). */
  NotAvailable: 50,
  /**
   * STATUS: the spec's "not available, and existing containers may have limited connectivity";
   * we answer it when the pool is empty and cannot grow, with the reason.
   */
  NotAvailableNoAddresses: 51,
  /** Ours: CHECK found the pod's network differs from what ADD set up. */
  CheckFailed: 101,
  /** Ours: a failure inside the plugin itself. */
  Internal: 103,
} as const;

/** A failure the plugin reports as the CNI error JSON. */
export class CniError extends Error {
  override readonly name = 'CniError';

  constructor(
    readonly code: number,
    message: string,
    readonly details?: string,
  ) {
    super(message);
  }
}

export interface CniErrorJson {
  readonly cniVersion: string;
  readonly code: number;
  readonly msg: string;
  readonly details?: string;
}

export function cniErrorJson(cniVersion: string, err: CniError): CniErrorJson {
  return {
    cniVersion,
    code: err.code,
    msg: err.message,
    ...(err.details === undefined || err.details === '' ? {} : { details: err.details }),
  };
}
