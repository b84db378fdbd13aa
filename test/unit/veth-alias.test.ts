import { expect, it } from 'vitest';
import { MAX_ALIAS_BYTES, decodeVethAlias, encodeVethAlias } from '../../src/ipamd/datapath/veth-alias.js';

const allocation = { networkName: 'nativeip', containerId: 'a'.repeat(64), ifName: 'eth0', netns: '/var/run/netns/cni-6f1c1a9e-0b8d-4c63-9a43-2d2a7f3b1c55' };

it('round-trips an allocation\'s key and namespace', () => {
  const alias = encodeVethAlias(allocation)!;
  expect(alias).toBe(`nativeip1 nativeip ${'a'.repeat(64)} eth0 /var/run/netns/cni-6f1c1a9e-0b8d-4c63-9a43-2d2a7f3b1c55`);
  expect(decodeVethAlias(alias)).toEqual(allocation);
});

it('gives no alias rather than a wrong one: whitespace in a field, or past the kernel\'s 255 bytes', () => {
  expect(encodeVethAlias({ ...allocation, netns: '/run/netns/my pod' })).toBeUndefined();
  expect(encodeVethAlias({ ...allocation, networkName: '' })).toBeUndefined();
  const long = { ...allocation, netns: `/${'n'.repeat(MAX_ALIAS_BYTES)}` };
  expect(encodeVethAlias(long)).toBeUndefined();
});

it('reads only its own format', () => {
  for (const other of [undefined, '', 'eth0 uplink', 'nativeip1 a b c', 'nativeip1 a b c relative/path', 'nativeip2 a b c /x', 'nativeip1 a  b c /x']) {
    expect(decodeVethAlias(other)).toBeUndefined();
  }
});
