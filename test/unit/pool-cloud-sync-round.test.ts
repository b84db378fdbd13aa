/**
 * A grow round over several interfaces (the adaptive plan's `alongside`): the assigns go out
 * together, what succeeded joins the pool even when one failed, and the first failure is the round's.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { CloudError } from '../../src/core/types.js';
import { AddressPool } from '../../src/ipamd/pool/plan/address-pool.js';
import { PoolCloudSync } from '../../src/ipamd/pool/pool-cloud-sync.js';
import { FakeCloud } from '../support/fake-cloud.js';
import { FakeDatapath } from '../support/fake-datapath.js';

async function syncOn(cloud: FakeCloud, logger = pino({ level: 'silent' })): Promise<{ sync: PoolCloudSync; pool: AddressPool }> {
  await cloud.createInterface({ deviceIndex: 1, secondaryCount: 0 });
  const pool = new AddressPool();
  const sync = new PoolCloudSync({ pool, provider: cloud, datapath: new FakeDatapath(), mtu: 9001, attachTimeoutMs: 1_000, logger, clock: Date.now, onDescribed: () => undefined });
  await sync.syncWithCloud();
  return { sync, pool };
}

describe('a grow round over several interfaces', () => {
  it('assigns to each interface, all at once, and the pool gets every address', async () => {
    const cloud = new FakeCloud({ maxInterfaces: 3, ipv4PerInterface: 6 });
    const { sync, pool } = await syncOn(cloud);
    let inFlight = 0;
    let most = 0;
    const assign = cloud.assignAddresses.bind(cloud);
    cloud.assignAddresses = async (id, count) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight -= 1;
      return assign(id, count);
    };
    await sync.executeGrow({ kind: 'assign', interfaceId: 'eni-1', count: 5, alongside: [{ interfaceId: 'eni-0', count: 3 }] });
    expect(most).toBe(2);
    expect(pool.addressesOf('eni-1')).toHaveLength(5);
    expect(pool.addressesOf('eni-0')).toHaveLength(3);
    expect(sync.growStep).toBeUndefined();
  });

  it('keeps what succeeded when one assign fails, and fails the round with that error', async () => {
    const cloud = new FakeCloud({ maxInterfaces: 3, ipv4PerInterface: 6 });
    const { sync, pool } = await syncOn(cloud);
    cloud.failNext = new CloudError('Throttled', 'RequestLimitExceeded');
    const round = sync.executeGrow({ kind: 'assign', interfaceId: 'eni-1', count: 5, alongside: [{ interfaceId: 'eni-0', count: 3 }] });
    await expect(round).rejects.toMatchObject({ code: 'Throttled' });
    // The first call sent took the failure; the other's addresses are in the pool.
    expect(pool.addressesOf('eni-1')).toHaveLength(0);
    expect(pool.addressesOf('eni-0')).toHaveLength(3);
  });

  it('when every assign of the round fails, the round fails with the first reason and logs each other one with its interface', async () => {
    const cloud = new FakeCloud({ maxInterfaces: 3, ipv4PerInterface: 6 });
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const { sync, pool } = await syncOn(cloud, logger);
    cloud.assignAddresses = async (id) => {
      throw id === 'eni-1' ? new CloudError('Throttled', 'RequestLimitExceeded') : new CloudError('SubnetExhausted', 'subnet has no free addresses');
    };
    const round = sync.executeGrow({ kind: 'assign', interfaceId: 'eni-1', count: 5, alongside: [{ interfaceId: 'eni-0', count: 3 }] });
    await expect(round).rejects.toMatchObject({ code: 'Throttled' });
    const other = lines.find((l) => l['msg'] === 'assigning addresses in the same round failed too');
    expect(other).toMatchObject({ interfaceId: 'eni-0', count: 3, err: { code: 'SubnetExhausted', message: 'subnet has no free addresses' } });
    expect(pool.addressesOf('eni-0')).toHaveLength(0);
  });
});
