import { RestError, createHttpHeaders } from '@azure/core-rest-pipeline';
import { describe, expect, it } from 'vitest';
import { CloudError } from '../../src/core/types.js';
import {
  classifyArmError,
  decodeArmError,
  isLroFailure,
  isPreconditionFailed,
  mapArmError,
  parseRemainingWrites,
  parseRetryAfter,
  writePacingDelayMs,
} from '../../src/providers/azure/error-mapping.js';

function restError(status: number, code: string | undefined, headers: Record<string, string> = {}): RestError {
  return new RestError(`message for ${code ?? status}`, {
    statusCode: status,
    ...(code === undefined ? {} : { code }),
    response: { headers: createHttpHeaders(headers), status, request: undefined as never },
  });
}

describe('classifyArmError', () => {
  it.each([
    ['SubnetIsFull', 400, 'SubnetExhausted'],
    ['InsufficientSubnetSize', 400, 'SubnetExhausted'],
    ['PrivateIPAddressNotAvailable', 400, 'SubnetExhausted'],
    ['NetworkInterfaceIpConfigurationsLimitExceeded', 400, 'AddressLimit'],
    ['RetryableErrorDueToAnotherOperation', 429, 'Throttled'],
    ['SubscriptionRequestsThrottled', 429, 'Throttled'],
    ['AnotherOperationInProgress', 409, 'Throttled'],
    ['PreconditionFailed', 412, 'Transient'],
    ['AuthorizationFailed', 403, 'Unauthorized'],
    ['InvalidAuthenticationToken', 401, 'Unauthorized'],
    ['ResourceNotFound', 404, 'NotFound'],
    ['InternalServerError', 500, 'Transient'],
    ['ECONNRESET', undefined, 'Transient'],
    ['SomethingNew', 400, 'InvalidRequest'],
    ['SomethingNew', 429, 'Throttled'],
    ['SomethingNew', 503, 'Transient'],
    [undefined, 404, 'NotFound'],
    [undefined, undefined, 'Transient'],
  ] as const)('%s / HTTP %s → %s', (code, status, expected) => {
    expect(classifyArmError(code, status)).toBe(expected);
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['7', 7000],
    [' 0 ', 0],
    ['Wed, 21 Oct 2015 07:28:10 GMT', 10_000],
    ['soon', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%j → %j ms', (value, expected) => {
    expect(parseRetryAfter(value, Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(expected);
  });
});

describe('mapArmError', () => {
  it('keeps Retry-After of a 429 as retryAfterMs and names the resource', () => {
    const error = mapArmError(restError(429, 'SubscriptionRequestsThrottled', { 'retry-after': '12' }), { action: 'PUT network interface', resource: 'nic1' });
    expect(error).toBeInstanceOf(CloudError);
    expect(error).toMatchObject({ code: 'Throttled', retryable: true, retryAfterMs: 12_000, cloudCode: 'SubscriptionRequestsThrottled' });
    expect(error.message).toMatch(/^ARM throttled PUT network interface on nic1; retry after 12 s \(SubscriptionRequestsThrottled: /);
  });

  it('maps RetryableErrorDueToAnotherOperation to Throttled with the delay ARM gave', () => {
    const error = mapArmError(restError(429, 'RetryableErrorDueToAnotherOperation', { 'retry-after': '16' }), { action: 'PUT network interface' });
    expect(error).toMatchObject({ code: 'Throttled', retryAfterMs: 16_000 });
  });

  it('says which subnet is full', () => {
    const error = mapArmError(restError(400, 'SubnetIsFull'), { action: 'PUT network interface', resource: 'nic1', subnetId: '/subscriptions/s/…/subnets/pods' });
    expect(error).toMatchObject({ code: 'SubnetExhausted', retryable: false });
    expect(error.message).toMatch(/^subnet \/subscriptions\/s\/…\/subnets\/pods has no free addresses/);
  });

  it('reads the code of an operation that ended Failed', () => {
    const lro = new Error('The long-running operation has failed. SubnetIsFull. Subnet pods is full.');
    expect(isLroFailure(lro)).toBe(true);
    expect(decodeArmError(lro)).toMatchObject({ code: 'SubnetIsFull', message: 'Subnet pods is full.' });
    expect(mapArmError(lro, { action: 'PUT network interface' }).code).toBe('SubnetExhausted');
  });

  it('treats a request that got no answer as transient', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(mapArmError(error, { action: 'GET network interface' })).toMatchObject({ code: 'Transient', cloudCode: 'ECONNREFUSED' });
  });

  it('passes a CloudError through', () => {
    const original = new CloudError('AddressLimit', 'full');
    expect(mapArmError(original, { action: 'x' })).toBe(original);
  });

  it('recognises 412 precondition failures', () => {
    expect(isPreconditionFailed(restError(412, 'PreconditionFailed'))).toBe(true);
    expect(isPreconditionFailed(restError(409, 'Conflict'))).toBe(false);
  });
});

describe('write pacing', () => {
  it.each([
    [undefined, 0],
    [1199, 0],
    [51, 0],
    [50, 0],
    [25, 2500],
    [0, 5000],
  ])('%s writes left → wait %i ms', (remaining, expected) => {
    expect(writePacingDelayMs(remaining)).toBe(expected);
  });

  it('waits more as fewer writes remain', () => {
    expect(writePacingDelayMs(10)).toBeGreaterThan(writePacingDelayMs(40));
  });

  it.each([
    ['199', 199],
    [' 12 ', 12],
    ['-1', undefined],
    ['many', undefined],
    [null, undefined],
  ])('parses remaining-writes header %j', (value, expected) => {
    expect(parseRemainingWrites(value)).toBe(expected);
  });
});
