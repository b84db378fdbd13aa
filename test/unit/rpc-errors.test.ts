import { describe, expect, it } from 'vitest';

import { DecodeError } from '../../src/rpc/decode.js';
import { RpcCallError, RpcServiceError, rpcErrorBody, toRpcError } from '../../src/rpc/errors.js';
import { FrameError } from '../../src/rpc/framing.js';

describe('toRpcError', () => {
  it.each([
    [
      'a service error',
      new RpcServiceError('PoolExhausted', 'subnet subnet-1 has 0 free addresses'),
      { code: 'PoolExhausted', cniCode: 100, message: 'subnet subnet-1 has 0 free addresses', retryable: false },
    ],
    [
      'a retryable-by-default code',
      new RpcServiceError('PoolEmptyGrowing', 'growing'),
      { code: 'PoolEmptyGrowing', cniCode: 11, message: 'growing', retryable: true },
    ],
    [
      'an explicit retryable override',
      new RpcServiceError('CloudFailed', 'throttled', { retryable: true }),
      { code: 'CloudFailed', cniCode: 102, message: 'throttled', retryable: true },
    ],
    [
      'a plain object with rpcCode',
      Object.assign(new Error('veth exists'), { rpcCode: 'DatapathFailed' }),
      { code: 'DatapathFailed', cniCode: 101, message: 'veth exists', retryable: false },
    ],
    [
      'an unknown rpcCode',
      Object.assign(new Error('odd'), { rpcCode: 'Nope' }),
      { code: 'Internal', cniCode: 103, message: 'odd', retryable: false },
    ],
    ['a plain error', new Error('boom'), { code: 'Internal', cniCode: 103, message: 'boom', retryable: false }],
    ['a string', 'oops', { code: 'Internal', cniCode: 103, message: 'non-error thrown: oops', retryable: false }],
    [
      'a decode error',
      new DecodeError('InvalidRequest', 'params.ifName', 'bad'),
      { code: 'InvalidRequest', cniCode: 7, message: 'params.ifName: bad', retryable: false },
    ],
    ['a frame error', new FrameError('garbage'), { code: 'BadFrame', cniCode: 6, message: 'garbage', retryable: false }],
  ])('maps %s', (_name, err, body) => {
    expect(toRpcError(err)).toEqual(body);
  });

  it('rpcErrorBody fills in the CNI code', () => {
    expect(rpcErrorBody('NotReady', 'restoring')).toEqual({
      code: 'NotReady',
      cniCode: 11,
      message: 'restoring',
      retryable: true,
    });
  });
});

describe('RpcCallError', () => {
  it('is unreachable only for the unreachable kind', () => {
    expect(new RpcCallError('unreachable', 'x', { socketPath: '/s' }).unreachable).toBe(true);
    expect(new RpcCallError('timeout', 'x', { socketPath: '/s' }).unreachable).toBe(false);
  });

  it('takes retryable from the daemon body when there is one', () => {
    const body = rpcErrorBody('PoolExhausted', 'full');
    expect(new RpcCallError('remote', 'full', { socketPath: '/s', body }).retryable).toBe(false);
    expect(new RpcCallError('disconnected', 'x', { socketPath: '/s' }).retryable).toBe(true);
  });
});
