import { describe, expect, it } from 'vitest';

import { CniError, cniErrorJson } from '../../src/cni/plugin/cni-error.js';
import { formatAddResult, versionResult } from '../../src/cni/plugin/result.js';
import { commandAllowed, compareVersions } from '../../src/cni/plugin/versions.js';
import type { AddResult } from '../../src/rpc/protocol.js';

const addResult: AddResult = {
  address: '10.0.1.5/32',
  gateway: '169.254.1.1',
  mtu: 9001,
  interfaceId: 'eni-1',
  hostInterface: { name: 'nip3f2a', mac: '02:00:00:00:00:01' },
  podInterface: { name: 'eth0', mac: '02:00:00:00:00:02', sandbox: '/var/run/netns/cni-1' },
};

const interfaces = [
  { name: 'nip3f2a', mac: '02:00:00:00:00:01' },
  { name: 'eth0', mac: '02:00:00:00:00:02', sandbox: '/var/run/netns/cni-1' },
];

describe('formatAddResult', () => {
  it('formats a 1.0.0 result without ip versions', () => {
    expect(formatAddResult('1.0.0', addResult)).toEqual({
      cniVersion: '1.0.0',
      interfaces,
      ips: [{ address: '10.0.1.5/32', gateway: '169.254.1.1', interface: 1 }],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: {},
    });
  });

  it.each(['0.3.0', '0.3.1', '0.4.0'] as const)('formats a %s result with "version": "4"', (version) => {
    expect(formatAddResult(version, addResult)).toEqual({
      cniVersion: version,
      interfaces,
      ips: [{ version: '4', address: '10.0.1.5/32', gateway: '169.254.1.1', interface: 1 }],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: {},
    });
  });

  it('labels an IPv6 address and default route', () => {
    const result = formatAddResult('0.4.0', { ...addResult, address: 'fd00::5/128', gateway: 'fe80::1' });
    expect(result.ips[0]?.version).toBe('6');
    expect(result.routes).toEqual([{ dst: '::/0' }]);
  });
});

describe('versions', () => {
  it('reports the supported versions', () => {
    expect(versionResult()).toEqual({ cniVersion: '1.1.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  });

  it.each([
    ['0.3.1', '0.4.0', -1],
    ['1.0.0', '0.4.0', 1],
    ['1.0', '1.0.0', 0],
    ['0.10.0', '0.9.0', 1],
  ])('compareVersions(%s, %s) = %d', (a, b, sign) => {
    expect(compareVersions(a, b)).toBe(sign);
  });

  it('allows CHECK from 0.4.0 and STATUS only from 1.1.0', () => {
    expect(commandAllowed('CHECK', '0.3.1')).toBe(false);
    expect(commandAllowed('CHECK', '0.4.0')).toBe(true);
    expect(commandAllowed('STATUS', '1.0.0')).toBe(false);
    expect(commandAllowed('ADD', '0.3.0')).toBe(true);
  });
});

describe('cniErrorJson', () => {
  it('includes details only when there are some', () => {
    expect(cniErrorJson('1.0.0', new CniError(7, 'invalid network config: name is required'))).toEqual({
      cniVersion: '1.0.0',
      code: 7,
      msg: 'invalid network config: name is required',
    });
    expect(cniErrorJson('0.4.0', new CniError(100, 'subnet full', 'nativeip-ipamd error PoolExhausted'))).toEqual({
      cniVersion: '0.4.0',
      code: 100,
      msg: 'subnet full',
      details: 'nativeip-ipamd error PoolExhausted',
    });
  });
});
