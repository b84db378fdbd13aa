import { describe, expect, it } from 'vitest';
import { AddressPool } from '../../src/ipamd/pool/plan/address-pool.js';
import { planInputOf } from '../../src/ipamd/pool/plan/plan-input.js';

const primary = {
  id: 'eni-0',
  mac: '02:00:00:00:00:00',
  deviceIndex: 0,
  subnetId: 'subnet-1',
  subnetCidr: '10.0.0.0/24',
  primaryIp: '10.0.0.10',
  managed: false,
};

function pool(): AddressPool {
  const p = new AddressPool();
  p.addInterface({ ...primary, secondaryIps: ['10.0.0.11'], prefixes: ['10.0.0.32/28', '10.0.0.16/28'] });
  return p;
}

const context = { limits: { maxInterfaces: 3, ipv4PerInterface: 4 }, targets: { warmEniTarget: 1, prefixDelegation: true }, usedDeviceIndexes: [0], pending: 0 };

describe('AddressPool with prefixes', () => {
  it('holds all 16 addresses of each prefix beside single addresses', () => {
    const p = pool();
    expect(p.stats(0)).toEqual({ total: 33, assigned: 0, coolingDown: 0, available: 33 });
    expect(p.prefixesOf('eni-0')).toEqual(['10.0.0.16/28', '10.0.0.32/28']);
    expect(p.addressesOf('eni-0').filter((a) => a.prefix === '10.0.0.16/28').map((a) => a.address)).toContain('10.0.0.16');
  });

  it('hands out the lowest address, prefix addresses included', () => {
    const p = pool();
    expect(p.assign('pod-a', 0)).toEqual({ address: '10.0.0.11', interfaceId: 'eni-0' });
    expect(p.assign('pod-b', 0)).toEqual({ address: '10.0.0.16', interfaceId: 'eni-0' });
  });

  it('counts a prefix as releasable only when none of its addresses is assigned or cooling', () => {
    const p = pool();
    p.assign('pod-a', 0);
    p.assign('pod-b', 0); // 10.0.0.16, in the lower prefix
    const busy = planInputOf(p, { ...context, nowMs: 0 }).interfaces[0];
    expect(busy).toMatchObject({ prefixes: 2, releasablePrefixes: ['10.0.0.32/28'], releasable: [] });
    p.release('pod-b', 0, 30_000);
    expect(planInputOf(p, { ...context, nowMs: 1_000 }).interfaces[0]?.releasablePrefixes).toEqual(['10.0.0.32/28']);
    expect(planInputOf(p, { ...context, nowMs: 31_000 }).interfaces[0]?.releasablePrefixes).toEqual(['10.0.0.32/28', '10.0.0.16/28']);
  });

  it('removing a prefix drops its addresses and reports pods that held one', () => {
    const p = pool();
    p.assign('pod-a', 0);
    p.assign('pod-b', 0);
    expect(p.removePrefixes(['10.0.0.16/28'])).toEqual(['pod-b']);
    expect(p.prefixesOf('eni-0')).toEqual(['10.0.0.32/28']);
    expect(p.stats(0).total).toBe(17);
    expect(p.lookup('pod-a')).toBeDefined();
  });

  it('re-adding a known prefix keeps its owners', () => {
    const p = pool();
    p.assign('pod-a', 0);
    p.assign('pod-b', 0);
    p.addPrefixes('eni-0', ['10.0.0.16/28']);
    expect(p.lookup('pod-b')).toEqual({ address: '10.0.0.16', interfaceId: 'eni-0' });
  });

  it('removing the interface forgets its prefixes', () => {
    const p = pool();
    p.removeInterface('eni-0');
    expect(p.prefixesOf('eni-0')).toEqual([]);
    expect(p.stats(0).total).toBe(0);
  });
});
