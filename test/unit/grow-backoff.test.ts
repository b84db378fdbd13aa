/** exhaustionReasonOf: the Node condition's reason for a failed cloud call, and the block that carries it. */
import { describe, expect, it } from 'vitest';
import type { ExhaustionReason } from '../../src/core/node-availability.js';
import { CloudError, type CloudErrorCode } from '../../src/core/types.js';
import { backoffAfter, exhaustionReasonOf, limitBlock } from '../../src/ipamd/pool/grow-backoff.js';

describe('exhaustionReasonOf', () => {
  it.each<[CloudErrorCode, ExhaustionReason]>([
    ['SubnetExhausted', 'SubnetFull'],
    ['InterfaceLimit', 'InterfaceLimit'],
    ['AddressLimit', 'InterfaceLimit'],
    ['Throttled', 'Throttled'],
    ['Transient', 'CloudError'],
    ['NotFound', 'CloudError'],
    ['Unauthorized', 'CloudError'],
    ['InvalidRequest', 'CloudError'],
  ])('CloudError %s → %s', (code, reason) => {
    expect(exhaustionReasonOf(new CloudError(code, 'm'))).toBe(reason);
  });

  it('a fragmented subnet is still SubnetFull', () => {
    expect(exhaustionReasonOf(new CloudError('SubnetExhausted', 'no /28', { fragmented: true }))).toBe('SubnetFull');
  });

  it.each<[string, unknown]>([
    ['a plain Error', new Error('socket hang up')],
    ['an Error whose name says CloudError', Object.assign(new Error('x'), { name: 'CloudError', code: 'Throttled' })],
    ['a string', 'Throttled'],
    ['undefined', undefined],
  ])('anything that is not a CloudError (%s) → CloudError', (_name, error) => {
    expect(exhaustionReasonOf(error)).toBe('CloudError');
  });

  it('the block after a failed call carries that reason as its cause', () => {
    for (const code of ['SubnetExhausted', 'AddressLimit', 'Throttled', 'Transient'] as const) {
      const error = new CloudError(code, `failed with ${code}`);
      const { block } = backoffAfter(error, 1_000, 0, () => 0.5);
      expect(block.cause).toBe(exhaustionReasonOf(error));
      expect(block.reason).toBe(`failed with ${code}`);
    }
  });

  it('a limit block carries the cause it is given', () => {
    expect(limitBlock('the node holds 29 addresses', 'MaxPods', 5_000)).toMatchObject({ reason: 'the node holds 29 addresses', cause: 'MaxPods', retryable: false });
  });
});
