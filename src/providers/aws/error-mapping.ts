/**
 * Pure translation of EC2 and IMDS failures into {@link CloudError}s. The daemon branches on the
 * cloud-neutral code only; the EC2 code stays in `cloudCode` and the original error in `cause`.
 */
import { CloudError, type CloudErrorCode } from '../../core/types.js';
import { TRANSPORT_ERROR_CODES } from '../transport-errors.js';

/** What the provider was doing when the error happened; used to make the message precise. */
export interface Ec2ErrorContext {
  /** EC2 action name, e.g. `AssignPrivateIpAddresses`. */
  readonly action: string;
  readonly instanceId?: string;
  readonly interfaceId?: string;
  readonly subnetId?: string;
}

/** The fields of a thrown value that the mapping looks at, decoded from `unknown`. */
export interface DecodedError {
  /** EC2 error code (SDK `name`), or a Node system error code such as `ECONNREFUSED`. */
  readonly code: string | undefined;
  readonly message: string;
  readonly httpStatus: number | undefined;
}

const EXACT_CODES: ReadonlyMap<string, CloudErrorCode> = new Map<string, CloudErrorCode>([
  ['InsufficientFreeAddressesInSubnet', 'SubnetExhausted'],
  ['InsufficientCidrBlocks', 'SubnetExhausted'],
  ['AttachmentLimitExceeded', 'InterfaceLimit'],
  ['NetworkInterfaceLimitExceeded', 'InterfaceLimit'],
  ['PrivateIpAddressLimitExceeded', 'AddressLimit'],
  ['RequestLimitExceeded', 'Throttled'],
  ['Throttling', 'Throttled'],
  ['ThrottlingException', 'Throttled'],
  ['UnauthorizedOperation', 'Unauthorized'],
  ['AuthFailure', 'Unauthorized'],
  ['InvalidParameterValue', 'InvalidRequest'],
  ['MissingParameter', 'InvalidRequest'],
  ['InvalidParameterCombination', 'InvalidRequest'],
  ['InternalError', 'Transient'],
  ['InternalFailure', 'Transient'],
  ['ServiceUnavailable', 'Transient'],
  ['Unavailable', 'Transient'],
]);

/** Error names the SDK and Node use for requests that never got an answer. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  ...TRANSPORT_ERROR_CODES,
  'RequestTimeout',
  'RequestTimeoutException',
  'NetworkingError',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function stringField(value: Record<string, unknown>, key: string): string | undefined {
  const field = value[key];
  return typeof field === 'string' && field !== '' ? field : undefined;
}

/** Reads code, message and HTTP status from whatever the SDK (or Node) threw. */
export function decodeError(error: unknown): DecodedError {
  if (!isRecord(error)) {
    return { code: undefined, message: String(error), httpStatus: undefined };
  }
  const metadata = error['$metadata'];
  const status = isRecord(metadata) ? metadata['httpStatusCode'] : undefined;
  const systemCode = stringField(error, 'code');
  const name = stringField(error, 'Code') ?? stringField(error, 'name');
  const genericName = name === undefined || name === 'Error' || name === 'TypeError';
  const code = genericName ? (systemCode ?? name) : name;
  return {
    code,
    message: stringField(error, 'message') ?? stringField(error, 'Message') ?? String(error),
    httpStatus: typeof status === 'number' ? status : undefined,
  };
}

/** The cloud-neutral code for an EC2 error code and HTTP status. Pure; table-driven. */
export function classifyEc2Error(code: string | undefined, httpStatus?: number): CloudErrorCode {
  if (code !== undefined) {
    const exact = EXACT_CODES.get(code);
    if (exact !== undefined) return exact;
    if (code.startsWith('Invalid') && code.endsWith('.NotFound')) return 'NotFound';
    if (code.endsWith('.Malformed') || code.startsWith('Invalid')) return 'InvalidRequest';
    if (NETWORK_CODES.has(code)) return 'Transient';
  }
  if (httpStatus !== undefined) {
    if (httpStatus >= 500) return 'Transient';
    if (httpStatus === 429) return 'Throttled';
    if (httpStatus === 401 || httpStatus === 403) return 'Unauthorized';
    if (httpStatus >= 400) return 'InvalidRequest';
  }
  return 'Transient';
}

function describeSubject(kind: CloudErrorCode, context: Ec2ErrorContext): string {
  switch (kind) {
    case 'SubnetExhausted':
      return `subnet ${context.subnetId ?? `of ${context.interfaceId ?? 'the node'}`} has no free addresses`;
    case 'InterfaceLimit':
      return `instance ${context.instanceId ?? '(unknown)'} cannot have more network interfaces`;
    case 'AddressLimit':
      return `interface ${context.interfaceId ?? '(unknown)'} has no room for more addresses`;
    case 'Throttled':
      return `EC2 throttled ${context.action}`;
    case 'Unauthorized':
      return `not allowed to call ${context.action}`;
    case 'NotFound':
      return `${context.action}: ${context.interfaceId ?? 'resource'} not found`;
    case 'InvalidRequest':
      return `${context.action} rejected`;
    case 'Transient':
      return `${context.action} failed`;
  }
}

/** Maps anything thrown by an EC2 call to a CloudError. A CloudError passes through unchanged. */
export function mapEc2Error(error: unknown, context: Ec2ErrorContext): CloudError {
  if (error instanceof CloudError) return error;
  const decoded = decodeError(error);
  const kind = classifyEc2Error(decoded.code, decoded.httpStatus);
  const origin = decoded.code === undefined ? decoded.message : `${decoded.code}: ${decoded.message}`;
  const options: { cloudCode?: string; fragmented?: boolean; cause: unknown } = { cause: error };
  if (decoded.code !== undefined) options.cloudCode = decoded.code;
  // Why: InsufficientCidrBlocks means no aligned free /28 is left, not that the subnet is full;
  // single addresses may still be assigned (docs: "Assign prefixes to network interfaces").
  const fragmented = decoded.code === 'InsufficientCidrBlocks';
  if (fragmented) options.fragmented = true;
  const subject = fragmented
    ? `subnet ${context.subnetId ?? `of ${context.interfaceId ?? 'the node'}`} has no free aligned /28 block for a prefix`
    : describeSubject(kind, context);
  return new CloudError(kind, `${subject} (${origin})`, options);
}

/**
 * True for UnassignPrivateIpAddresses' answer when an address is no longer on the interface.
 * Real EC2 says `InvalidParameterValue: Some of the specified addresses are not assigned to
 * interface eni-…`; moto ignores such addresses silently.
 */
export function isNotAssignedError(error: CloudError): boolean {
  return error.cloudCode === 'InvalidParameterValue' && /not assigned/i.test(error.message);
}

/** An IMDS request that failed; `status` is undefined when no HTTP answer arrived. */
export class ImdsError extends Error {
  override readonly name = 'ImdsError';
  readonly path: string;
  readonly status: number | undefined;

  constructor(path: string, status: number | undefined, detail: string, cause?: unknown) {
    super(
      `IMDS ${path} failed: ${status === undefined ? detail : `HTTP ${status}${detail === '' ? '' : ` ${detail}`}`}`,
      cause === undefined ? undefined : { cause },
    );
    this.path = path;
    this.status = status;
  }
}

/** Maps an IMDS failure (or anything thrown while reading IMDS) to a CloudError. */
export function mapImdsError(error: unknown): CloudError {
  if (error instanceof CloudError) return error;
  if (error instanceof ImdsError) {
    const kind: CloudErrorCode =
      error.status === 404
        ? 'NotFound'
        : error.status === 401 || error.status === 403
          ? 'Unauthorized'
          : error.status === 400
            ? 'InvalidRequest'
            : 'Transient';
    const options: { cloudCode?: string; cause: unknown } = { cause: error };
    if (error.status !== undefined) options.cloudCode = `IMDS-${error.status}`;
    return new CloudError(kind, error.message, options);
  }
  return new CloudError('Transient', `IMDS read failed: ${decodeError(error).message}`, { cause: error });
}

/** The message of anything thrown, for a log line. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
