import { describe, expect, it } from 'vitest';
import { CloudError, type CloudErrorCode } from '../../src/core/types.js';
import {
  classifyEc2Error,
  decodeError,
  ImdsError,
  isNotAssignedError,
  mapEc2Error,
  mapImdsError,
} from '../../src/providers/aws/error-mapping.js';

/** What the SDK throws for an EC2 error answer: `name` is the EC2 code. */
function sdkError(code: string, message: string, status: number): Error {
  const error = new Error(message);
  error.name = code;
  return Object.assign(error, { $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
}

function systemError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });
}

describe('classifyEc2Error', () => {
  const cases: [string | undefined, number | undefined, CloudErrorCode][] = [
    ['InsufficientFreeAddressesInSubnet', 400, 'SubnetExhausted'],
    ['InsufficientCidrBlocks', 400, 'SubnetExhausted'],
    ['AttachmentLimitExceeded', 400, 'InterfaceLimit'],
    ['NetworkInterfaceLimitExceeded', 400, 'InterfaceLimit'],
    ['PrivateIpAddressLimitExceeded', 400, 'AddressLimit'],
    ['RequestLimitExceeded', 503, 'Throttled'],
    ['Throttling', 400, 'Throttled'],
    ['ThrottlingException', 400, 'Throttled'],
    ['InvalidNetworkInterfaceID.NotFound', 400, 'NotFound'],
    ['InvalidInstanceID.NotFound', 400, 'NotFound'],
    ['InvalidSubnetID.NotFound', 400, 'NotFound'],
    ['InvalidAttachmentID.NotFound', 400, 'NotFound'],
    ['UnauthorizedOperation', 403, 'Unauthorized'],
    ['AuthFailure', 401, 'Unauthorized'],
    ['InvalidParameterValue', 400, 'InvalidRequest'],
    ['MissingParameter', 400, 'InvalidRequest'],
    ['InvalidParameterCombination', 400, 'InvalidRequest'],
    ['InvalidNetworkInterfaceID.Malformed', 400, 'InvalidRequest'],
    ['InternalError', 500, 'Transient'],
    ['Unavailable', 503, 'Transient'],
    ['SomethingNew', 502, 'Transient'],
    ['SomethingNew', 400, 'InvalidRequest'],
    ['SomethingNew', 429, 'Throttled'],
    ['TimeoutError', undefined, 'Transient'],
    ['ECONNREFUSED', undefined, 'Transient'],
    ['ECONNRESET', undefined, 'Transient'],
    [undefined, undefined, 'Transient'],
  ];
  it.each(cases)('%s (HTTP %s) → %s', (code, status, expected) => {
    expect(classifyEc2Error(code, status)).toBe(expected);
  });
});

describe('decodeError', () => {
  it('reads the EC2 code, message and status of an SDK error', () => {
    expect(decodeError(sdkError('AuthFailure', 'bad signature', 401))).toEqual({
      code: 'AuthFailure',
      message: 'bad signature',
      httpStatus: 401,
    });
  });
  it('reads the system code of a network error', () => {
    expect(decodeError(systemError('ECONNREFUSED')).code).toBe('ECONNREFUSED');
  });
  it('copes with things that are not errors', () => {
    expect(decodeError('boom')).toEqual({ code: undefined, message: 'boom', httpStatus: undefined });
    expect(decodeError(null).code).toBeUndefined();
  });
});

describe('mapEc2Error', () => {
  it('names the subnet when it is exhausted, and keeps code and cause', () => {
    const cause = sdkError('InsufficientFreeAddressesInSubnet', 'The specified subnet does not have enough free addresses', 400);
    const error = mapEc2Error(cause, { action: 'CreateNetworkInterface', subnetId: 'subnet-0abc' });
    expect(error.code).toBe('SubnetExhausted');
    expect(error.message).toMatch(/^subnet subnet-0abc has no free addresses/);
    expect(error.cloudCode).toBe('InsufficientFreeAddressesInSubnet');
    expect(error.cause).toBe(cause);
    expect(error.retryable).toBe(false);
  });

  it.each([
    ['AttachmentLimitExceeded', { action: 'AttachNetworkInterface', instanceId: 'i-1' }, /instance i-1 cannot have more network interfaces/],
    ['PrivateIpAddressLimitExceeded', { action: 'AssignPrivateIpAddresses', interfaceId: 'eni-1' }, /interface eni-1 has no room/],
    ['RequestLimitExceeded', { action: 'AssignPrivateIpAddresses' }, /EC2 throttled AssignPrivateIpAddresses/],
    ['UnauthorizedOperation', { action: 'CreateNetworkInterface' }, /not allowed to call CreateNetworkInterface/],
  ])('%s has a message that says why', (code, context, pattern) => {
    expect(mapEc2Error(sdkError(code, 'original text', 400), context).message).toMatch(pattern);
    expect(mapEc2Error(sdkError(code, 'original text', 400), context).message).toContain(`${code}: original text`);
  });

  it('marks throttling and network failures retryable', () => {
    expect(mapEc2Error(sdkError('RequestLimitExceeded', 'slow down', 503), { action: 'X' }).retryable).toBe(true);
    const network = mapEc2Error(systemError('ECONNRESET'), { action: 'X' });
    expect(network.code).toBe('Transient');
    expect(network.retryable).toBe(true);
  });

  it('passes a CloudError through unchanged', () => {
    const original = new CloudError('AddressLimit', 'already mapped');
    expect(mapEc2Error(original, { action: 'X' })).toBe(original);
  });
});

describe('isNotAssignedError', () => {
  it.each([
    ['InvalidParameterValue', 'Some of the specified addresses are not assigned to interface eni-0abc', true],
    ['InvalidParameterValue', 'The primary IP address of an interface cannot be unassigned.', false],
    ['InvalidNetworkInterfaceID.NotFound', 'not assigned', false],
  ])('%s "%s" → %s', (code, message, expected) => {
    const error = mapEc2Error(sdkError(code, message, 400), { action: 'UnassignPrivateIpAddresses' });
    expect(isNotAssignedError(error)).toBe(expected);
  });
});

describe('mapImdsError', () => {
  it.each([
    [404, 'NotFound'],
    [401, 'Unauthorized'],
    [400, 'InvalidRequest'],
    [500, 'Transient'],
    [undefined, 'Transient'],
  ] as const)('HTTP %s → %s, with the path in the message', (status, expected) => {
    const error = mapImdsError(new ImdsError('/latest/meta-data/mac', status, 'detail'));
    expect(error.code).toBe(expected);
    expect(error.message).toContain('/latest/meta-data/mac');
    if (status !== undefined) expect(error.message).toContain(`HTTP ${status}`);
  });
});
