import { describe, expect, it } from 'vitest';
import { hostVethName } from '../../src/ipamd/datapath/veth-name.js';

describe('hostVethName', () => {
  // Expected values: printf '<key>' | sha1sum, first 11 hex digits (what the AWS VPC CNI keeps).
  it.each([
    ['eni', { namespace: 'default', name: 'nginx' }, 'enic440f455693'],
    ['eni', { namespace: 'kube-system', name: 'coredns-5d78c9869d-abcde' }, 'eni4d5f75c480c'],
    ['eni', '0123456789abcdef', 'enife5567e8d76'],
    ['cali', { namespace: 'default', name: 'nginx' }, 'calic440f455693'],
    ['longprefix', { namespace: 'default', name: 'nginx' }, 'longprefixc440f'],
  ])('%s + %o → %s', (prefix, pod, expected) => {
    const name = hostVethName(prefix, pod);
    expect(name).toBe(expected);
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(15);
  });

  it('is deterministic and distinguishes pods', () => {
    const a = hostVethName('eni', { namespace: 'a', name: 'b' });
    expect(hostVethName('eni', { namespace: 'a', name: 'b' })).toBe(a);
    expect(hostVethName('eni', { namespace: 'a', name: 'c' })).not.toBe(a);
  });

  it.each(['', 'bad/prefix', 'has space', 'waytoolongprefix'])('rejects the prefix %j', (prefix) => {
    expect(() => hostVethName(prefix, 'abc')).toThrow(RangeError);
  });

  it('rejects an empty identity', () => {
    expect(() => hostVethName('eni', '')).toThrow('cannot name a veth');
    expect(() => hostVethName('eni', { namespace: '', name: 'x' })).toThrow('cannot name a veth');
  });
});
