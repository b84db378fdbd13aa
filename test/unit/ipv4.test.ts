import { describe, expect, it } from 'vitest';
import {
  bytesToIpv4,
  cidrContains,
  cidrHolds,
  cidrsOverlap,
  compareIpv4,
  intToIpv4,
  ipv4ToBytes,
  ipv4ToInt,
  isIpv4,
  parseAlignedCidr,
  parseCidr,
  subnetGateway,
  tryIpv4ToInt,
  tryParseCidr,
} from '../../src/core/ipv4.js';

describe('IPv4 addresses', () => {
  it.each([
    ['10.0.0.1', 167772161],
    ['255.255.255.255', 4294967295],
    ['0.0.0.0', 0],
  ])('%s round-trips', (text, n) => {
    expect(tryIpv4ToInt(text)).toBe(n);
    expect(ipv4ToInt(text)).toBe(n);
    expect(intToIpv4(n)).toBe(text);
    expect(isIpv4(text)).toBe(true);
  });

  it.each(['256.0.0.1', '10.0.0', '01.0.0.1', 'a.b.c.d', '10.0.0.1 ', '10.0.1.300', ''])('rejects %j', (text) => {
    expect(tryIpv4ToInt(text)).toBeUndefined();
    expect(isIpv4(text)).toBe(false);
    expect(() => ipv4ToInt(text)).toThrow(`invalid IPv4 address ${JSON.stringify(text)}`);
  });

  it('orders addresses numerically', () => {
    expect(['10.0.0.10', '10.0.0.9', '9.255.255.255'].sort(compareIpv4)).toEqual(['9.255.255.255', '10.0.0.9', '10.0.0.10']);
  });

  it('converts to and from network-order bytes', () => {
    expect(Array.from(ipv4ToBytes('192.168.1.254'))).toEqual([192, 168, 1, 254]);
    expect(bytesToIpv4(Uint8Array.from([10, 0, 2, 77]))).toBe('10.0.2.77');
    expect(() => ipv4ToBytes('10.0.1.256')).toThrow(RangeError);
    expect(() => bytesToIpv4(new Uint8Array(16))).toThrow('expected 4 address bytes, got 16');
  });
});

describe('CIDR blocks', () => {
  it.each([
    ['10.0.2.77/24', '10.0.2.0/24', 24],
    ['10.0.2.77/32', '10.0.2.77/32', 32],
    ['0.0.0.0/0', '0.0.0.0/0', 0],
    ['255.255.255.255/1', '128.0.0.0/1', 1],
  ])('parseCidr(%s) normalises to %s', (cidr, text, prefixLength) => {
    expect(parseCidr(cidr)).toMatchObject({ text, prefixLength, size: 2 ** (32 - prefixLength) });
    expect(tryParseCidr(cidr)).toEqual(parseCidr(cidr));
  });

  it.each(['10.0.2.0', '10.0.2.0/33', '10.0.2.0/', '10.0.2.0/x', '10.0.2/24', '300.0.0.0/8', '10.0.0.0/8/8'])('parseCidr rejects %s', (cidr) => {
    expect(() => parseCidr(cidr)).toThrow(RangeError);
    expect(() => parseCidr(cidr)).toThrow(`invalid IPv4 CIDR ${JSON.stringify(cidr)}`);
    expect(tryParseCidr(cidr)).toBeUndefined();
  });

  it('parses aligned CIDRs only with parseAlignedCidr', () => {
    expect(parseAlignedCidr('10.0.16.0/20')).toMatchObject({ prefixLength: 20, size: 4096 });
    expect(parseAlignedCidr('10.0.1.0/20')).toBeUndefined();
    expect(parseAlignedCidr('10.0.0.0/33')).toBeUndefined();
  });

  it('tells containment and overlap', () => {
    expect(cidrContains('10.0.0.0/16', '10.0.255.255')).toBe(true);
    expect(cidrContains('10.0.0.0/16', '10.1.0.0')).toBe(false);
    expect(cidrContains('0.0.0.0/0', '203.0.113.10')).toBe(true);
    const block = parseCidr('10.0.16.0/20');
    expect(cidrHolds(block, ipv4ToInt('10.0.31.255'))).toBe(true);
    expect(cidrHolds(block, ipv4ToInt('10.0.32.0'))).toBe(false);
    expect(cidrsOverlap(block, parseCidr('10.0.0.0/16'))).toBe(true);
    expect(cidrsOverlap(block, parseCidr('10.0.32.0/20'))).toBe(false);
  });

  it.each([
    ['10.0.2.0/24', '10.0.2.1'],
    ['192.168.255.128/25', '192.168.255.129'],
    ['10.0.0.0/30', '10.0.0.1'],
  ])('subnetGateway(%s) = %s', (cidr, gw) => {
    expect(subnetGateway(cidr)).toBe(gw);
  });

  it('has no gateway for a /31', () => {
    expect(() => subnetGateway('10.0.2.0/31')).toThrow('subnet 10.0.2.0/31 has no gateway address');
  });
});
