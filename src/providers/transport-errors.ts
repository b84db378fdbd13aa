/**
 * Error codes and names of a request that never got an answer from the cloud (the connection
 * failed, was reset or timed out): transient whichever cloud it was. Shared by the providers'
 * error mappings, which add their SDK's own names.
 */
export const TRANSPORT_ERROR_CODES: readonly string[] = [
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'AbortError',
  'TimeoutError',
];
