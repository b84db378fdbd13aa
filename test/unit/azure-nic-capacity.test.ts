/**
 * Interface capacity: slots someone else holds on an interface (Azure: IP configurations another
 * writer added) are not the pool's. The planners fill an interface only up to its capacity and
 * then move on to the next one, or say why they cannot, instead of asking the cloud for slots
 * that are not there.
 */
import { describe, expect, it } from 'vitest';
import { AddressPool } from '../../src/ipamd/pool/plan/address-pool.js';
import { planAdaptiveGrow, type AdaptiveTargets } from '../../src/ipamd/pool/plan/adaptive-plan.js';
import { planInputOf } from '../../src/ipamd/pool/plan/plan-input.js';
import { planPrefixGrow } from '../../src/ipamd/pool/plan/prefix-targets.js';
import { planGrow, roomOn, slotsOf, type PlanInput, type PlanInterface } from '../../src/ipamd/pool/plan/warm-targets.js';
import { nicCapacity, nicInterface } from '../../src/providers/azure/nic-interface.js';
import type { IpConfigView } from '../../src/providers/azure/ip-configs.js';

const azureLimits = { maxInterfaces: 2, ipv4PerInterface: 256 };
const smallLimits = { maxInterfaces: 2, ipv4PerInterface: 10 };

function pif(id: string, deviceIndex: number, addresses: number, assigned: number, capacity?: number): PlanInterface {
  return {
    id,
    deviceIndex,
    managed: false,
    addresses,
    assigned,
    coolingDown: 0,
    releasable: [],
    ...(capacity === undefined ? {} : { capacity }),
  };
}

function input(interfaces: PlanInterface[], targets: PlanInput['targets'], limits = smallLimits): PlanInput {
  return { interfaces, usedDeviceIndexes: interfaces.map((i) => i.deviceIndex), limits, targets, pending: 0 };
}

const band: AdaptiveTargets = { low: 4, high: 8, releaseExcess: false, deletableInterfaceIds: [] };

describe('slots and room with a capacity', () => {
  it.each([
    ['no capacity: the limits', undefined, 9],
    ['capacity below the limits', 5, 5],
    ['capacity above the limits is capped by them', 40, 9],
    ['negative capacity is none', -3, 0],
  ])('%s', (_name, capacity, slots) => {
    expect(slotsOf(pif('a', 0, 2, 0, capacity), smallLimits)).toBe(slots);
    expect(roomOn(pif('a', 0, 2, 0, capacity), smallLimits)).toBe(Math.max(0, slots - 2));
  });
});

describe('planners respect a capacity', () => {
  const ipMode = { warmEniTarget: 1, warmIpTarget: 6 };

  it('IP mode assigns no more than the room the capacity leaves', () => {
    expect(planGrow(input([pif('nic-0', 0, 2, 2, 5)], ipMode))).toEqual({ kind: 'assign', interfaceId: 'nic-0', count: 3 });
  });

  it('IP mode moves on to the next interface once one is at its capacity', () => {
    const plan = planGrow(input([pif('nic-0', 0, 5, 5, 5), pif('nic-1', 1, 0, 0)], ipMode));
    expect(plan).toEqual({ kind: 'assign', interfaceId: 'nic-1', count: 6 });
  });

  it('ENI mode fills an interface only to its capacity', () => {
    expect(planGrow(input([pif('nic-0', 0, 1, 1, 4)], { warmEniTarget: 1 }))).toEqual({ kind: 'assign', interfaceId: 'nic-0', count: 3 });
  });

  it('says that others hold slots when every interface is full and none can be attached', () => {
    const plan = planGrow(input([pif('nic-0', 0, 252, 252, 252)], ipMode, { maxInterfaces: 1, ipv4PerInterface: 256 }));
    expect(plan).toMatchObject({ kind: 'blocked' });
    expect(plan.kind === 'blocked' && plan.reason).toBe(
      'the node has 1 of 1 network interfaces (the instance type limit) and every one holds its 255 secondary addresses (3 of those slots hold addresses nativeip does not manage)',
    );
  });

  it('without a capacity the reason is unchanged', () => {
    const plan = planGrow(input([pif('nic-0', 0, 255, 255)], ipMode, { maxInterfaces: 1, ipv4PerInterface: 256 }));
    expect(plan.kind === 'blocked' && plan.reason).toBe('the node has 1 of 1 network interfaces (the instance type limit) and every one holds its 255 secondary addresses');
  });

  it('the adaptive default tops up within the capacity and moves on when it is reached', () => {
    expect(planAdaptiveGrow(input([pif('nic-0', 0, 250, 250, 253)], { warmEniTarget: 1 }, azureLimits), band)).toEqual({ kind: 'assign', interfaceId: 'nic-0', count: 3 });
    expect(planAdaptiveGrow(input([pif('nic-0', 0, 253, 250, 253), pif('nic-1', 1, 0, 0)], { warmEniTarget: 1 }, azureLimits), band)).toEqual({
      kind: 'assign',
      interfaceId: 'nic-1',
      count: 5,
    });
  });

  it('prefix mode counts a prefix as one slot against the capacity', () => {
    const withPrefix: PlanInterface = { ...pif('eni-0', 0, 16, 16, 2), prefixes: 1 };
    const plan = planPrefixGrow(input([withPrefix], { warmEniTarget: 1, prefixDelegation: true, warmPrefixTarget: 1 }));
    expect(plan).toEqual({ kind: 'assign-prefixes', interfaceId: 'eni-0', count: 1 });
    const full: PlanInterface = { ...withPrefix, capacity: 1 };
    expect(planPrefixGrow(input([full, pif('eni-1', 1, 0, 0)], { warmEniTarget: 1, prefixDelegation: true, warmPrefixTarget: 1 }))).toEqual({
      kind: 'assign-prefixes',
      interfaceId: 'eni-1',
      count: 1,
    });
  });
});

describe('planInputOf', () => {
  it('takes each interface capacity from the cloud interfaces, leaves it unset elsewhere', () => {
    const pool = new AddressPool();
    const base = { subnetId: 's', subnetCidr: '10.1.0.0/16', managed: false, pooled: true };
    pool.addInterface({ ...base, id: 'nic-0', mac: '00:0d:3a:00:00:01', deviceIndex: 0, primaryIp: '10.1.0.4', secondaryIps: ['10.1.0.5'] });
    pool.addInterface({ ...base, id: 'nic-1', mac: '00:0d:3a:00:00:02', deviceIndex: 1, primaryIp: '10.1.0.6', secondaryIps: [] });
    const plan = planInputOf(pool, {
      limits: azureLimits,
      targets: { warmEniTarget: 1 },
      usedDeviceIndexes: [0, 1],
      pending: 0,
      nowMs: 0,
      cloudInterfaces: [{ id: 'nic-0', capacity: 200 }, { id: 'nic-1' }],
    });
    expect(plan.interfaces.map((i) => [i.id, i.capacity])).toEqual([
      ['nic-0', 200],
      ['nic-1', undefined],
    ]);
  });
});

describe('Azure NIC capacity', () => {
  const subnet = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/nodes';
  const config = (name: string, address: string | undefined, extra: Partial<IpConfigView> = {}): IpConfigView => ({
    name,
    primary: false,
    address,
    subnetId: subnet,
    provisioningState: 'Succeeded',
    ...extra,
  });
  const primary = config('ipconfig1', '10.1.0.4', { primary: true });

  it.each([
    ['only the primary', [primary], 255],
    ['ours do not reduce it', [primary, config('nativeip-1', '10.1.0.5'), config('nativeip-2', '10.1.0.6')], 255],
    ['configurations of another writer do', [primary, config('nativeip-1', '10.1.0.5'), config('vip', '10.1.0.7'), config('db', '10.1.0.8')], 253],
    ['ours still being provisioned hold a slot too', [primary, config('nativeip-1', undefined, { provisioningState: 'Updating' })], 254],
  ])('%s', (_name, configs, capacity) => {
    expect(nicCapacity(configs)).toBe(capacity);
  });

  it('the NIC view carries the capacity and only our addresses', () => {
    const nic = { id: 'nic-0', mac: '00:0d:3a:00:00:01', configs: [primary, config('nativeip-1', '10.1.0.5'), config('vip', '10.1.0.7')] };
    expect(nicInterface(nic, 0, '10.1.0.0/16')).toMatchObject({ primaryIp: '10.1.0.4', secondaryIps: ['10.1.0.5'], capacity: 254, pooled: true, managed: false });
    expect(nicInterface(nic, 0, undefined)).toBeUndefined();
  });
});
