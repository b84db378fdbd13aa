import { describe, expect, it } from 'vitest';
import { bytesToMac, localMac, macBytes, normalizeMac } from '../../src/ipamd/datapath/mac.js';

describe('MAC helpers', () => {
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
