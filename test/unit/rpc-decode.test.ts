import { describe, expect, it } from 'vitest';

import {
  DecodeError,
  VersionMismatchError,
  decodeRequest,
  decodeResponse,
  decodeResult,
  peekRequestId,
} from '../../src/rpc/decode.js';
import { containerIdProblem, ifNameProblem, netnsProblem } from '../../src/rpc/validate.js';

const key = { networkName: 'nativeip', containerId: 'abc123', ifName: 'eth0' };
const addParams = { ...key, netns: '/var/run/netns/cni-1', podNamespace: 'default', podName: 'web-0', mtu: 9001 };

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('decodeRequest', () => {
  it('decodes an add request and keeps optional fields', () => {
    expect(decodeRequest({ v: 1, id: 7, method: 'add', params: addParams, extra: true })).toEqual({
      v: 1,
      id: 7,
      method: 'add',
      params: addParams,
    });
  });

  it('drops an empty netns on del and ignores unknown params', () => {
    expect(decodeRequest({ v: 1, id: 1, method: 'del', params: { ...key, netns: '', future: 1 } })).toEqual({
      v: 1,
      id: 1,
      method: 'del',
      params: key,
    });
  });

  it('decodes gc and status', () => {
    expect(
      decodeRequest({
        v: 1,
        id: 2,
        method: 'gc',
        params: { networkName: 'n', validAttachments: [{ containerId: 'c1', ifName: 'eth0' }] },
      }).params,
    ).toEqual({ networkName: 'n', validAttachments: [{ containerId: 'c1', ifName: 'eth0' }] });
    expect(decodeRequest({ v: 1, id: 3, method: 'status', params: {} }).params).toEqual({});
  });

  it.each([
    ['a non-object', [], /^expected an object, got an array$/],
    ['a missing id', { v: 1, method: 'add', params: addParams }, /^id: expected an integer, got nothing$/],
    ['a negative id', { v: 1, id: -1, method: 'add', params: addParams }, /^id: -1 is out of range/],
    ['an unknown method', { v: 1, id: 1, method: 'frob', params: {} }, /^method: expected one of "add", "del"/],
    ['missing params', { v: 1, id: 1, method: 'add' }, /^params: expected an object, got nothing$/],
    [
      'an empty container id',
      { v: 1, id: 1, method: 'add', params: { ...addParams, containerId: '' } },
      /^params\.containerId: expected a non-empty string, got string ""$/,
    ],
    [
      'a container id with a slash',
      { v: 1, id: 1, method: 'add', params: { ...addParams, containerId: 'a/b' } },
      /^params\.containerId: "a\/b" is not a valid container id/,
    ],
    [
      'a long ifName',
      { v: 1, id: 1, method: 'add', params: { ...addParams, ifName: 'abcdefghijklmnop' } },
      /^params\.ifName: "abcdefghijklmnop" is 16 bytes; an interface name has at most 15$/,
    ],
    [
      'a relative netns',
      { v: 1, id: 1, method: 'add', params: { ...addParams, netns: 'netns/x' } },
      /^params\.netns: "netns\/x" is not an absolute path$/,
    ],
    ['a missing netns on add', { v: 1, id: 1, method: 'add', params: key }, /^params\.netns: expected a non-empty string/],
    [
      'an out-of-range mtu',
      { v: 1, id: 1, method: 'add', params: { ...addParams, mtu: 10 } },
      /^params\.mtu: 10 is out of range 68\.\.65535$/,
    ],
    [
      'a bad gc attachment',
      { v: 1, id: 1, method: 'gc', params: { networkName: 'n', validAttachments: [{ containerId: 'x', ifName: '..' }] } },
      /^params\.validAttachments\[0\]\.ifName: "\.\." is not a valid interface name$/,
    ],
  ])('rejects %s with InvalidRequest naming the field', (_name, value, message) => {
    const err = thrown(() => decodeRequest(value));
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as DecodeError).code).toBe('InvalidRequest');
    expect((err as DecodeError).rpcCode).toBe('InvalidRequest');
    expect((err as DecodeError).message).toMatch(message);
  });

  it('reports a version mismatch naming both versions', () => {
    const err = thrown(() => decodeRequest({ v: 2, id: 5, method: 'add', params: addParams }));
    expect(err).toBeInstanceOf(VersionMismatchError);
    expect((err as VersionMismatchError).message).toBe(
      'protocol version mismatch: the request has v=2, this daemon speaks v=1',
    );
  });

  it.each([
    [{ id: 9 }, 9],
    [{ id: 'x' }, 0],
    [null, 0],
    [{ id: 1.5 }, 0],
  ])('peekRequestId(%j) is %d', (value, id) => {
    expect(peekRequestId(value)).toBe(id);
  });
});

describe('field validators', () => {
  it.each([
    ['abc', undefined],
    ['a_b.c-d', undefined],
    ['_a', 'is not a valid container id'],
    ['a b', 'is not a valid container id'],
    ['', 'must not be empty'],
  ])('containerId %j', (id, problem) => {
    if (problem === undefined) expect(containerIdProblem(id)).toBeUndefined();
    else expect(containerIdProblem(id)).toContain(problem);
  });

  it.each([
    ['eth0', undefined],
    ['a'.repeat(15), undefined],
    ['é'.repeat(8), 'is 16 bytes'],
    ['.', 'not a valid interface name'],
    ['a/b', "no '/'"],
    ['a b', "no '/'"],
    ['a:b', "no '/'"],
  ])('ifName %j', (name, problem) => {
    if (problem === undefined) expect(ifNameProblem(name)).toBeUndefined();
    else expect(ifNameProblem(name)).toContain(problem);
  });

  it('netns must be absolute', () => {
    expect(netnsProblem('/proc/1/ns/net')).toBeUndefined();
    expect(netnsProblem('proc/1/ns/net')).toContain('not an absolute path');
  });
});

describe('decodeResponse', () => {
  const body = { code: 'PoolExhausted', cniCode: 100, message: 'subnet full', retryable: false };

  it('decodes result and error replies', () => {
    expect(decodeResponse({ v: 1, id: 3, result: { ok: true } })).toEqual({ v: 1, id: 3, result: { ok: true } });
    expect(decodeResponse({ v: 1, id: 3, error: body })).toEqual({ v: 1, id: 3, error: body });
  });

  it('maps an unknown error code to Internal, keeping the CNI code and the original code in the message', () => {
    expect(decodeResponse({ v: 1, id: 3, error: { ...body, code: 'Future', cniCode: 104 } })).toEqual({
      v: 1,
      id: 3,
      error: { code: 'Internal', cniCode: 104, message: 'Future: subnet full', retryable: false },
    });
  });

  it.each([
    ['both result and error', { v: 1, id: 1, result: {}, error: body }, /exactly one of "result" and "error"/],
    ['neither', { v: 1, id: 1 }, /exactly one of/],
    ['a bad error body', { v: 1, id: 1, error: { ...body, retryable: 'no' } }, /^error\.retryable: expected a boolean/],
  ])('rejects %s as InvalidResponse', (_name, value, message) => {
    const err = thrown(() => decodeResponse(value));
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as DecodeError).code).toBe('InvalidResponse');
    expect((err as DecodeError).message).toMatch(message);
  });

  it('reports a version mismatch', () => {
    expect(() => decodeResponse({ v: 3, id: 1, result: {} })).toThrow(
      'protocol version mismatch: the response has v=3, this client speaks v=1',
    );
  });
});

describe('decodeResult', () => {
  const addResult = {
    address: '10.0.1.5/32',
    gateway: '169.254.1.1',
    mtu: 9001,
    interfaceId: 'eni-1',
    hostInterface: { name: 'nip1234', mac: '02:00:00:00:00:01' },
    podInterface: { name: 'eth0', mac: '02:00:00:00:00:02', sandbox: '/var/run/netns/x' },
  };

  it('decodes each method', () => {
    expect(decodeResult('add', addResult)).toEqual(addResult);
    expect(decodeResult('del', {})).toEqual({});
    expect(decodeResult('check', { ok: false, problems: ['route missing'] })).toEqual({
      ok: false,
      problems: ['route missing'],
    });
    expect(decodeResult('gc', { released: 2 })).toEqual({ released: 2 });
    const status = {
      state: 'ready',
      cloud: 'aws',
      instanceId: 'i-1',
      instanceType: 't3.medium',
      pool: { total: 5, assigned: 1, available: 4, coolingDown: 0 },
      interfaces: [{ id: 'eni-1', deviceIndex: 0, subnetId: 'subnet-1', addresses: 5, assigned: 1 }],
      pods: [{ networkName: 'n', containerId: 'c', ifName: 'eth0', podName: 'p', address: '10.0.0.5', interfaceId: 'eni-1' }],
    };
    expect(decodeResult('status', status)).toEqual(status);
    const withWarmPool = { ...status, warmPool: { policy: 'adaptive', low: 2, high: 8, burst: false, arrivalsPerMinute: 0.5 } };
    expect(decodeResult('status', withWarmPool)).toEqual(withWarmPool);
    expect(decodeResult('status', { ...status, warmPool: { policy: 'eni' } })).toEqual({ ...status, warmPool: { policy: 'eni' } });
    expect(() => decodeResult('status', { ...status, warmPool: { policy: 'magic' } })).toThrow(/^result\.warmPool\.policy: /);
    expect(() => decodeResult('status', { ...status, warmPool: { policy: 'adaptive', arrivalsPerMinute: -1 } })).toThrow(/^result\.warmPool\.arrivalsPerMinute: must be a number ≥ 0/);
    const full = { ...status, state: 'growing', grow: { doing: 'assigning 10 addresses to eni-1', forMs: 4200 }, warmPool: { policy: 'adaptive', low: 10, high: 10, startupFloor: 10 } };
    expect(decodeResult('status', full)).toEqual(full);
    const knobs = { ...status, warmPool: { policy: 'ip', knobs: { WARM_IP_TARGET: 5, MINIMUM_IP_TARGET: 10 } } };
    expect(decodeResult('status', knobs)).toEqual(knobs);
    expect(() => decodeResult('status', { ...status, grow: { doing: 'x', forMs: -1 } })).toThrow(/^result\.grow\.forMs: /);
  });

  it.each([
    ['add', { ...addResult, address: '10.0.1.5' }, /^result\.address: "10\.0\.1\.5" is not an address with a prefix length$/],
    ['add', { ...addResult, hostInterface: { name: 'x', mac: 'zz' } }, /^result\.hostInterface\.mac: "zz" is not a MAC address$/],
    ['check', { ok: 'yes', problems: [] }, /^result\.ok: expected a boolean/],
    ['del', null, /^result: expected an object, got null$/],
  ] as const)('rejects a bad %s result naming the field', (method, value, message) => {
    expect(() => decodeResult(method, value)).toThrow(message);
  });
});
