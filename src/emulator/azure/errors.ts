/** An ARM error answer: HTTP status, ARM's `error.code`, message, optional Retry-After (seconds). */
export class ArmApiError extends Error {
  override readonly name = 'ArmApiError';
  readonly status: number;
  readonly code: string;
  readonly retryAfterSec: number | undefined;

  constructor(status: number, code: string, message: string, retryAfterSec?: number) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfterSec = retryAfterSec;
  }
}

/** The code the emulator answers when a PUT would put more than 256 IP configurations on a NIC. */
export const IP_CONFIG_LIMIT_CODE = 'NetworkInterfaceIpConfigurationsLimitExceeded';
