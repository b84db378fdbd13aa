import { describe, expect, it } from 'vitest';
import { AddressPool } from '../../src/ipamd/pool/plan/address-pool.js';
import type { CloudInterface } from '../../src/core/types.js';

function eni(id: string, deviceIndex: number, secondaryIps: string[]): CloudInterface {
  return { id, mac: `02:00:00:00:00:0${deviceIndex}`, deviceIndex, subnetId: 'subnet-1', subnetCidr: '10.0.0.0/24', primaryIp: `10.0.0.${10 + deviceIndex}`, secondaryIps, managed: deviceIndex > 0 };
}

function poolWith(...interfaces: CloudInterface[]): AddressPool {
  const pool = new AddressPool();
  for (const i of interfaces) pool.addInterface(i);
  return pool;
}

describe('AddressPool', () => {
  it('assigns the lowest address of the lowest device index first', () => {
    const pool = poolWith(eni('eni-1', 1, ['10.0.0.5']), eni('eni-0', 0, ['10.0.0.30', '10.0.0.9']));
    expect(pool.assign('a', 0)).toEqual({ address: '10.0.0.9', interfaceId: 'eni-0' });
    expect(pool.assign('b', 0)).toEqual({ address: '10.0.0.30', interfaceId: 'eni-0' });
    expect(pool.assign('c', 0)).toEqual({ address: '10.0.0.5', interfaceId: 'eni-1' });
    expect(pool.assign('d', 0)).toBeUndefined();
  });

  it('is idempotent per key: never two addresses for one key', () => {
    const pool = poolWith(eni('eni-0', 0, ['10.0.0.20', '10.0.0.21']));
    expect(pool.assign('a', 0)).toEqual(pool.assign('a', 0));
    expect(pool.stats(0)).toEqual({ total: 2, assigned: 1, coolingDown: 0, available: 1 });
  });

  it('never hands one address to two keys', () => {
    const addresses = Array.from({ length: 50 }, (_, i) => `10.0.0.${100 + i}`);
    const pool = poolWith(eni('eni-0', 0, addresses));
    const got = new Set<string>();
    for (let i = 0; i < 50; i += 1) got.add(pool.assign(`k${i}`, 0)?.address ?? 'none');
    expect(got.size).toBe(50);
    expect(got.has('none')).toBe(false);
  });

  it('cools a released address down before reuse', () => {
    const pool = poolWith(eni('eni-0', 0, ['10.0.0.20']));
    pool.assign('a', 1_000);
    expect(pool.release('a', 2_000, 30_000)).toEqual({ address: '10.0.0.20', interfaceId: 'eni-0' });
    expect(pool.stats(2_000)).toEqual({ total: 1, assigned: 0, coolingDown: 1, available: 0 });
    expect(pool.assign('b', 31_999)).toBeUndefined();
    expect(pool.assign('b', 32_000)).toEqual({ address: '10.0.0.20', interfaceId: 'eni-0' });
  });

  it('releases without cooldown when asked (an address no pod used)', () => {
    const pool = poolWith(eni('eni-0', 0, ['10.0.0.20']));
    pool.assign('a', 0);
    pool.release('a', 0, 0);
    expect(pool.assign('b', 0)?.address).toBe('10.0.0.20');
  });

  it('release of an unknown key is a no-op', () => {
    expect(poolWith(eni('eni-0', 0, ['10.0.0.20'])).release('nope', 0, 30_000)).toBeUndefined();
  });

  it('restores allocations and refuses conflicts with a reason', () => {
    const pool = poolWith(eni('eni-0', 0, ['10.0.0.20', '10.0.0.21']));
    expect(pool.restore('a', '10.0.0.21')).toBeUndefined();
    expect(pool.restore('b', '10.0.0.21')).toMatch(/already held by a/);
    expect(pool.restore('c', '10.0.0.99')).toMatch(/not on any of the node's interfaces/);
    expect(pool.assign('d', 0)?.address).toBe('10.0.0.20');
  });

  it('restores cooldowns', () => {
    const pool = poolWith(eni('eni-0', 0, ['10.0.0.20']));
    pool.restoreCooldown('10.0.0.20', 5_000);
    expect(pool.assign('a', 4_999)).toBeUndefined();
    expect(pool.cooldowns(0)).toEqual([{ address: '10.0.0.20', untilMs: 5_000 }]);
  });

  it('reports the keys that lose their address when the cloud removes it', () => {
    const pool = poolWith(eni('eni-0', 0, ['10.0.0.20', '10.0.0.21']), eni('eni-1', 1, ['10.0.0.40']));
    pool.assign('a', 0);
    pool.assign('b', 0);
    pool.assign('c', 0);
    expect(pool.removeAddresses(['10.0.0.21'])).toEqual(['b']);
    expect(pool.removeInterface('eni-1')).toEqual(['c']);
    expect(pool.lookup('b')).toBeUndefined();
    expect(pool.interfaces().map((i) => i.id)).toEqual(['eni-0']);
  });
});

describe('AddressPool.awaitAddress', () => {
  it('an awaited address goes to its key the moment it comes into the pool, never free', () => {
    const pool = poolWith(eni('eni-0', 0, ['10.0.0.10']));
    expect(pool.awaitAddress('pod-a', '10.0.0.11')).toBeUndefined();
    expect(pool.lookup('pod-a')).toBeUndefined();
    pool.addAddresses('eni-0', ['10.0.0.11', '10.0.0.12']);
    expect(pool.lookup('pod-a')).toEqual({ address: '10.0.0.11', interfaceId: 'eni-0' });
    expect(pool.assign('pod-b', 0)?.address).toBe('10.0.0.10');
    expect(pool.assign('pod-c', 0)?.address).toBe('10.0.0.12');
  });

  it('also through a prefix, and not once the key released it', () => {
    const pool = poolWith(eni('eni-0', 0, []));
    pool.awaitAddress('pod-a', '10.0.1.3');
    pool.awaitAddress('pod-b', '10.0.1.4');
    pool.release('pod-b', 0, 0);
    expect(pool.awaitedBy('pod-b')).toBeUndefined();
    pool.addPrefixes('eni-0', ['10.0.1.0/28']);
    expect(pool.lookup('pod-a')?.address).toBe('10.0.1.3');
    expect(pool.ownerOf('10.0.1.4')).toBeUndefined();
  });

  it('refuses what it cannot promise, naming why', () => {
    const pool = poolWith(eni('eni-0', 0, ['10.0.0.10']));
    expect(pool.awaitAddress('pod-a', '10.0.0.10')).toMatch(/in the pool already/);
    pool.awaitAddress('pod-a', '10.0.0.20');
    expect(pool.awaitAddress('pod-b', '10.0.0.20')).toMatch(/awaited by pod-a/);
    expect(pool.awaitAddress('pod-a', '10.0.0.21')).toMatch(/pod-a already holds 10.0.0.20/);
  });
});
