import { describe, expect, it } from 'vitest';
import {
  UnsafeIpConfigChange,
  applyIpConfigChange,
  isOurConfigName,
  ourAddresses,
  planAppend,
  planRemoval,
  type IpConfigView,
} from '../../src/providers/azure/ip-configs.js';

const cfg = (name: string, address: string | undefined, extra: Partial<IpConfigView> = {}): IpConfigView => ({
  name,
  primary: false,
  address,
  subnetId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/a',
  provisioningState: 'Succeeded',
  ...extra,
});

const nic: IpConfigView[] = [
  cfg('ipconfig1', '10.1.0.4', { primary: true }),
  cfg('nativeip-1', '10.1.0.5'),
  cfg('someone-else', '10.1.0.6'),
  cfg('nativeip-3', '10.1.0.7'),
  cfg('nativeip-4', undefined, { provisioningState: 'Updating' }),
];

describe('which configurations are ours', () => {
  it.each([
    ['nativeip-1', true],
    ['nativeip-255', true],
    ['nativeip-0', false],
    ['nativeip-01', false],
    ['nativeip-x', false],
    ['nativeip-', false],
    ['ipconfig1', false],
    ['my-nativeip-1', false],
  ])('%s → %s', (name, ours) => {
    expect(isOurConfigName(name)).toBe(ours);
  });

  it('counts only settled, allocated configurations of ours, never the primary or another writer’s', () => {
    expect(ourAddresses(nic)).toEqual(['10.1.0.5', '10.1.0.7']);
    expect(ourAddresses([cfg('nativeip-1', '10.1.0.4', { primary: true })])).toEqual([]);
  });
});

describe('planAppend', () => {
  it('names new configurations with the lowest unused numbers', () => {
    expect(planAppend(nic, { count: 3, batchSize: 32 })).toEqual({ kind: 'append', names: ['nativeip-2', 'nativeip-5', 'nativeip-6'] });
  });

  it.each([
    [10, 4, 256, 4],
    [2, 32, 256, 2],
    [10, 32, 7, 2],
  ])('count %i, batch %i, limit %i → %i', (count, batchSize, maxPerNic, expected) => {
    const plan = planAppend(nic, { count, batchSize, maxPerNic });
    expect(plan.kind === 'append' ? plan.names.length : 0).toBe(expected);
  });

  it('reports a full NIC at 256 configurations', () => {
    const full = Array.from({ length: 256 }, (_, i) => cfg(i === 0 ? 'ipconfig1' : `nativeip-${i}`, `10.1.${Math.floor(i / 250)}.${i % 250}`));
    expect(planAppend(full, { count: 1, batchSize: 32 })).toEqual({ kind: 'full', configs: 256 });
  });
});

describe('planRemoval', () => {
  it('removes only our configurations and says why it keeps the others', () => {
    const plan = planRemoval(nic, ['10.1.0.5', '10.1.0.4', '10.1.0.6', '10.1.0.99', '10.1.0.5']);
    expect(plan.names).toEqual(['nativeip-1']);
    expect(plan.kept).toEqual([
      { address: '10.1.0.4', reason: 'primary' },
      { address: '10.1.0.6', reason: 'not-ours' },
      { address: '10.1.0.99', reason: 'absent' },
    ]);
  });

  it('never drops a primary even when it has one of our names', () => {
    const odd = [cfg('nativeip-1', '10.1.0.4', { primary: true }), cfg('nativeip-2', '10.1.0.5')];
    expect(planRemoval(odd, ['10.1.0.4', '10.1.0.5']).names).toEqual(['nativeip-2']);
  });

  it('treats a single unflagged configuration as the primary', () => {
    expect(planRemoval([cfg('nativeip-1', '10.1.0.4')], ['10.1.0.4']).kept).toEqual([{ address: '10.1.0.4', reason: 'primary' }]);
  });
});

describe('applyIpConfigChange', () => {
  type Raw = { name?: string; primary?: boolean; extra?: string };
  const raw: Raw[] = [{ name: 'ipconfig1', primary: true, extra: 'lb pool' }, { name: 'nativeip-1' }, { name: 'someone-else', extra: 'keep me' }];

  it('carries every other configuration over untouched and appends the new ones', () => {
    const next = applyIpConfigChange(raw, { remove: ['nativeip-1'], add: [{ name: 'nativeip-2' }] });
    expect(next).toEqual([{ name: 'ipconfig1', primary: true, extra: 'lb pool' }, { name: 'someone-else', extra: 'keep me' }, { name: 'nativeip-2' }]);
  });

  it.each([
    ['another writer’s configuration', { remove: ['someone-else'], add: [] }, /not nativeip's/],
    ['the primary', { remove: ['ipconfig1'], add: [] }, /not nativeip's/],
    ['a name that is not ours', { remove: [], add: [{ name: 'ipconfig9' }] }, /not a nativeip name/],
    ['a name already taken', { remove: [], add: [{ name: 'nativeip-1' }] }, /already exists/],
  ])('refuses to touch %s', (_what, change, message) => {
    expect(() => applyIpConfigChange(raw, change)).toThrow(UnsafeIpConfigChange);
    expect(() => applyIpConfigChange(raw, change)).toThrow(message);
  });

  it('refuses to drop a primary that carries one of our names', () => {
    expect(() => applyIpConfigChange([{ name: 'nativeip-1', primary: true }], { remove: ['nativeip-1'], add: [] })).toThrow(/primary/);
  });
});
