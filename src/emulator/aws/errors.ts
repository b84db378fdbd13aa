/** An EC2 API failure: the wire code, the message EC2 would send and the HTTP status. */
export class Ec2ApiError extends Error {
  override readonly name = 'Ec2ApiError';
  /** EC2's own error code, e.g. `InvalidNetworkInterfaceID.NotFound`. */
  readonly code: string;
  /** HTTP status of the error response: 400 for client errors, 503 for throttling. */
  readonly httpStatus: number;

  constructor(code: string, message: string, httpStatus = 400) {
    super(message);
    this.code = code;
    this.httpStatus = httpStatus;
  }
}

export function invalidParameterValue(message: string): Ec2ApiError {
  return new Ec2ApiError('InvalidParameterValue', message);
}

export function missingParameter(name: string): Ec2ApiError {
  return new Ec2ApiError('MissingParameter', `The request must contain the parameter ${name}`);
}

export function ipLimitExceeded(): Ec2ApiError {
  return new Ec2ApiError('PrivateIpAddressLimitExceeded', 'Number of private addresses will exceed limit.');
}

export function insufficientAddresses(): Ec2ApiError {
  return new Ec2ApiError(
    'InsufficientFreeAddressesInSubnet',
    'The specified subnet does not have enough free addresses to satisfy the request.',
  );
}

export function attachmentNotFound(id: string): Ec2ApiError {
  return new Ec2ApiError('InvalidAttachmentID.NotFound', `The attachment ID '${id}' does not exist`);
}

