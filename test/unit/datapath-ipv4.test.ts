import { describe, expect, it } from 'vitest';
import { bytesToMac, localMac, macBytes, normalizeMac, parseCidr, subnetGateway } from '../../src/cni/datapath/ipv4.js';

describe('ipv4 helpers', () => {
  it.each([
    ['10.0.2.77/24', { address: '10.0.2.0', prefixLen: 24 }],
    ['10.0.2.77/32', { address: '10.0.2.77', prefixLen: 32 }],
    ['0.0.0.0/0', { address: '0.0.0.0', prefixLen: 0 }],
    ['255.255.255.255/1', { address: '128.0.0.0', prefixLen: 1 }],
  ])('parseCidr(%s)', (cidr, expected) => {
    expect(parseCidr(cidr)).toEqual(expected);
  });

  it.each(['10.0.2.0', '10.0.2.0/33', '10.0.2.0/', '10.0.2.0/x', '10.0.2/24', '300.0.0.0/8'])('parseCidr rejects %s', (cidr) => {
    expect(() => parseCidr(cidr)).toThrow(RangeError);
  });

  it.each([
    ['10.0.2.0/24', '10.0.2.1'],
    ['192.168.255.128/25', '192.168.255.129'],
    ['10.0.0.0/30', '10.0.0.1'],
  ])('subnetGateway(%s) = %s', (cidr, gw) => {
    expect(subnetGateway(cidr)).toBe(gw);
  });

  it('normalises MACs', () => {
    expect(normalizeMac('02-AB-cd-00-00-01')).toBe('02:ab:cd:00:00:01');
    expect(bytesToMac(macBytes('02:ab:cd:00:00:01'))).toBe('02:ab:cd:00:00:01');
    expect(() => normalizeMac('02:ab:cd:00:00')).toThrow('invalid MAC address');
  });

  it('makes unicast, locally administered MACs', () => {
    expect(localMac(Uint8Array.from([0xff, 1, 2, 3, 4, 5]))).toBe('fe:01:02:03:04:05');
    expect(localMac(Uint8Array.from([0x00, 1, 2, 3, 4, 5]))).toBe('02:01:02:03:04:05');
    expect(() => localMac(new Uint8Array(5))).toThrow(RangeError);
  });
});
