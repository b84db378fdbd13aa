/**
 * Pure translation of ARM, IMDS and long-running-operation failures into {@link CloudError}s, and
 * the write pacing that keeps a node from draining the subscription's write budget. The daemon
 * branches on the cloud-neutral code only; ARM's code stays in `cloudCode`.
 */
import { CloudError, type CloudErrorCode } from '../../core/types.js';
import { TRANSPORT_ERROR_CODES } from '../transport-errors.js';

/** What the provider was doing, to make messages precise. */
export interface ArmErrorContext {
  /** e.g. `PUT network interface`, `GET virtual machine`. */
  readonly action: string;
  /** Resource id or name the call was about. */
  readonly resource?: string;
  /** Subnet the new configurations were to come from. */
  readonly subnetId?: string;
}

/** The fields of a thrown value the mapping looks at, decoded from `unknown`. */
export interface DecodedArmError {
  /** ARM error code (`SubnetIsFull`, …), or a Node system error code (`ECONNREFUSED`). */
  readonly code: string | undefined;
  readonly message: string;
  readonly httpStatus: number | undefined;
  /** From `Retry-After` (seconds or an HTTP date). */
  readonly retryAfterMs: number | undefined;
}

/** ARM's code for a write refused because another write on the same resource is under way. */
export const ANOTHER_OPERATION = 'RetryableErrorDueToAnotherOperation';

const EXACT_CODES: ReadonlyMap<string, CloudErrorCode> = new Map<string, CloudErrorCode>([
  ['SubnetIsFull', 'SubnetExhausted'],
  ['InsufficientSubnetSize', 'SubnetExhausted'],
  ['PrivateIPAddressNotAvailable', 'SubnetExhausted'],
  ['NoAvailableIpAddressInSubnet', 'SubnetExhausted'],
  [ANOTHER_OPERATION, 'Throttled'],
  ['AnotherOperationInProgress', 'Throttled'],
  ['TooManyRequests', 'Throttled'],
  ['SubscriptionRequestsThrottled', 'Throttled'],
  ['ResourceGroupRequestsThrottled', 'Throttled'],
  ['PreconditionFailed', 'Transient'],
  ['AuthorizationFailed', 'Unauthorized'],
  ['AuthenticationFailed', 'Unauthorized'],
  ['InvalidAuthenticationToken', 'Unauthorized'],
  ['LinkedAuthorizationFailed', 'Unauthorized'],
  ['ResourceNotFound', 'NotFound'],
  ['NotFound', 'NotFound'],
  ['ResourceGroupNotFound', 'NotFound'],
  ['InvalidRequestFormat', 'InvalidRequest'],
  ['InvalidResourceReference', 'InvalidRequest'],
  ['InternalServerError', 'Transient'],
  ['ServiceUnavailable', 'Transient'],
  ['GatewayTimeout', 'Transient'],
]);

const NETWORK_CODES: ReadonlySet<string> = new Set([...TRANSPORT_ERROR_CODES, 'REQUEST_SEND_ERROR']);

/** Message prefix @azure/core-lro uses when an operation ends `Failed`: `…has failed. <code>. <message>`. */
const LRO_FAILED = /^The long-running operation has failed\. ([A-Za-z0-9_.]+)\. ([\s\S]*)$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** `Retry-After` as seconds (`"7"`) or an HTTP date, in ms from `nowMs`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined | null, nowMs: number = Date.now()): number | undefined {
  if (value === undefined || value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function headerOf(error: Record<string, unknown>, name: string): string | undefined {
  const response = error['response'];
  if (!isRecord(response)) return undefined;
  const headers = response['headers'];
  if (!isRecord(headers)) return undefined;
  const get = headers['get'];
  if (typeof get === 'function') {
    const value: unknown = (get as (n: string) => unknown).call(headers, name);
    return typeof value === 'string' ? value : undefined;
  }
  return text(headers[name]);
}

/** Reads code, message, status and Retry-After from a RestError, an LRO failure or a Node error. */
export function decodeArmError(error: unknown, nowMs: number = Date.now()): DecodedArmError {
  if (!isRecord(error)) return { code: undefined, message: String(error), httpStatus: undefined, retryAfterMs: undefined };
  const message = text(error['message']) ?? String(error);
  const lro = LRO_FAILED.exec(message);
  if (lro !== null) return { code: lro[1], message: lro[2] ?? message, httpStatus: undefined, retryAfterMs: undefined };
  const details = error['details'];
  const inner = isRecord(details) && isRecord(details['error']) ? details['error'] : undefined;
  const status = error['statusCode'];
  const name = text(error['name']);
  const code = text(error['code']) ?? (inner === undefined ? undefined : text(inner['code'])) ?? (name === 'AbortError' ? name : undefined);
  return {
    code,
    message,
    httpStatus: typeof status === 'number' ? status : undefined,
    retryAfterMs: parseRetryAfter(headerOf(error, 'retry-after'), nowMs),
  };
}

/** The cloud-neutral code for an ARM code and HTTP status. Table-driven; pure. */
export function classifyArmError(code: string | undefined, httpStatus?: number): CloudErrorCode {
  if (code !== undefined) {
    const exact = EXACT_CODES.get(code);
    if (exact !== undefined) return exact;
    if (/IpConfiguration.*(Limit|Exceed)/i.test(code)) return 'AddressLimit';
    if (/SubnetIsFull|AddressSpaceExhausted/i.test(code)) return 'SubnetExhausted';
    if (NETWORK_CODES.has(code)) return 'Transient';
  }
  if (httpStatus !== undefined) {
    if (httpStatus === 429) return 'Throttled';
    if (httpStatus === 412) return 'Transient';
    if (httpStatus >= 500) return 'Transient';
    if (httpStatus === 401 || httpStatus === 403) return 'Unauthorized';
    if (httpStatus === 404) return 'NotFound';
    if (httpStatus >= 400) return 'InvalidRequest';
  }
  return 'Transient';
}

function subject(kind: CloudErrorCode, context: ArmErrorContext, retryAfterMs: number | undefined): string {
  const resource = context.resource ?? 'the resource';
  switch (kind) {
    case 'SubnetExhausted':
      return `subnet ${context.subnetId ?? `of ${resource}`} has no free addresses`;
    case 'AddressLimit':
      return `network interface ${resource} has no room for more IP configurations`;
    case 'InterfaceLimit':
      return `cannot add a network interface for ${resource}`;
    case 'Throttled':
      return `ARM throttled ${context.action} on ${resource}${retryAfterMs === undefined ? '' : `; retry after ${Math.ceil(retryAfterMs / 1000)} s`}`;
    case 'Unauthorized':
      return `not allowed to ${context.action} ${resource} (check the managed identity's role assignments)`;
    case 'NotFound':
      return `${context.action}: ${resource} not found`;
    case 'InvalidRequest':
      return `${context.action} ${resource} rejected`;
    case 'Transient':
      return `${context.action} ${resource} failed`;
  }
}

/** True for the error @azure/core-lro throws when an operation ended `Failed` (a terminal outcome). */
export function isLroFailure(error: unknown): boolean {
  return error instanceof Error && LRO_FAILED.test(error.message);
}

/** True for HTTP 412: the resource changed since it was read (its ETag no longer matches). */
export function isPreconditionFailed(error: unknown): boolean {
  const decoded = decodeArmError(error);
  return decoded.httpStatus === 412 || decoded.code === 'PreconditionFailed';
}

/** Maps anything an ARM call threw to a CloudError. A CloudError passes through unchanged. */
export function mapArmError(error: unknown, context: ArmErrorContext, nowMs: number = Date.now()): CloudError {
  if (error instanceof CloudError) return error;
  const decoded = decodeArmError(error, nowMs);
  const kind = classifyArmError(decoded.code, decoded.httpStatus);
  const origin = decoded.code === undefined ? decoded.message : `${decoded.code}: ${decoded.message}`;
  const options: { cloudCode?: string; retryAfterMs?: number; cause: unknown } = { cause: error };
  if (decoded.code !== undefined) options.cloudCode = decoded.code;
  if (decoded.retryAfterMs !== undefined) options.retryAfterMs = decoded.retryAfterMs;
  return new CloudError(kind, `${subject(kind, context, decoded.retryAfterMs)} (${origin})`, options);
}

/** Remaining writes at or below which the provider spaces its writes out. */
export const WRITE_PACING_THRESHOLD = 50;
/** Longest pause before one write. Why: ARM refills writes at 10/s per subscription and principal. */
export const MAX_WRITE_PACING_MS = 5_000;

/**
 * Pause before the next write given ARM's last `x-ms-ratelimit-remaining-subscription-writes`:
 * none while plenty remain, then growing linearly to {@link MAX_WRITE_PACING_MS} as the
 * subscription's budget (shared by every node) approaches zero, so nodes slow down before ARM
 * starts answering 429.
 */
export function writePacingDelayMs(remainingWrites: number | undefined): number {
  if (remainingWrites === undefined || remainingWrites > WRITE_PACING_THRESHOLD) return 0;
  const used = WRITE_PACING_THRESHOLD - Math.max(0, remainingWrites);
  return Math.round((used / WRITE_PACING_THRESHOLD) * MAX_WRITE_PACING_MS);
}

/** Reads the remaining-writes header value; undefined when absent or not a count. */
export function parseRemainingWrites(value: string | undefined | null): number | undefined {
  if (value === undefined || value === null || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}
