import { describe, expect, it } from 'vitest';
import { AddressPool } from '../../src/ipamd/pool/plan/address-pool.js';
import { expectedNodeOf, observationDifference } from '../../src/ipamd/pool/plan/node-observation.js';
import type { NodeSnapshot } from '../../src/core/types.js';
import { seededIdSource } from '../../src/emulator/shared/ids.js';
import { imdsInstanceJson, imdsNetworkJson } from '../../src/emulator/azure/arm-render.js';
import { AzureState } from '../../src/emulator/azure/arm-state.js';
import { LaggedView } from '../../src/emulator/azure/imds-lag.js';
import { decodeInstanceMetadata } from '../../src/providers/azure/imds-client.js';
import { ImdsNetworkDecodeError, decodeNetworkMetadata, observationFromImds, type KnownNic } from '../../src/providers/azure/imds-network.js';
import type { IpConfigView } from '../../src/providers/azure/ip-configs.js';
import { nicInterface } from '../../src/providers/azure/nic-interface.js';

const SUBNET = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/nodes';
const NIC0 = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/vm-nic0';
const NIC1 = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/vm-nic1';

/** The shape real Azure IMDS answers on `/metadata/instance/network` (api-version 2021-02-01). */
const network = () => ({
  interface: [
    {
      ipv4: {
        ipAddress: [
          { privateIpAddress: '10.1.0.4', publicIpAddress: '20.1.2.3' },
          { privateIpAddress: '10.1.0.5', publicIpAddress: '' },
        ],
        subnet: [{ address: '10.1.0.0', prefix: '20' }],
      },
      ipv6: { ipAddress: [] },
      macAddress: '000D3AF806EC',
    },
    {
      ipv4: { ipAddress: [{ privateIpAddress: '10.1.0.9', publicIpAddress: '' }], subnet: [{ address: '10.1.0.0', prefix: '20' }] },
      ipv6: { ipAddress: [] },
      macAddress: '000D3AF806ED',
    },
  ],
});

describe('decodeNetworkMetadata', () => {
  it('reads each NIC by MAC with its private addresses, primary first, and its subnet', () => {
    expect(decodeNetworkMetadata(network())).toEqual([
      { mac: '00:0d:3a:f8:06:ec', addresses: ['10.1.0.4', '10.1.0.5'], subnetCidr: '10.1.0.0/20' },
      { mac: '00:0d:3a:f8:06:ed', addresses: ['10.1.0.9'], subnetCidr: '10.1.0.0/20' },
    ]);
  });

  it('reads a NIC without subnet entries and one with no address yet', () => {
    const doc = network();
    doc.interface[1]!.ipv4 = { ipAddress: [], subnet: [] };
    expect(decodeNetworkMetadata(doc)[1]).toEqual({ mac: '00:0d:3a:f8:06:ed', addresses: [], subnetCidr: undefined });
  });

  type Doc = ReturnType<typeof network>;
  const broken = (change: (doc: Record<string, unknown> & Doc) => void): unknown => {
    const doc = network() as Record<string, unknown> & Doc;
    change(doc);
    return doc;
  };
  const nic = (doc: Doc, i: number) => doc.interface[i] as unknown as Record<string, unknown>;
  const ipv4 = (doc: Doc, i: number) => doc.interface[i]!.ipv4 as unknown as Record<string, unknown>;

  it.each<[string, unknown, string]>([
    ['not an object', 'Bad request', "network: expected an object, got 'Bad request'"],
    ['no interface list', {}, 'network.interface: expected an array, got nothing'],
    ['an interface that is not an object', { interface: [null] }, 'network.interface[0]: expected an object, got null'],
    ['no NIC at all', { interface: [] }, 'network.interface: lists no network interface'],
    ['a MAC that is not one', broken((d) => (nic(d, 1)['macAddress'] = '000D3A')), "network.interface[1].macAddress: '000D3A' is not a MAC address"],
    ['a missing MAC', broken((d) => delete nic(d, 0)['macAddress']), 'network.interface[0].macAddress: nothing is not a MAC address'],
    ['no ipv4 section', broken((d) => delete nic(d, 0)['ipv4']), 'network.interface[0].ipv4: expected an object, got nothing'],
    ['ipAddress not a list', broken((d) => (ipv4(d, 0)['ipAddress'] = { privateIpAddress: '10.1.0.4' })), 'network.interface[0].ipv4.ipAddress: expected an array, got object'],
    [
      'an entry without privateIpAddress',
      broken((d) => (ipv4(d, 0)['ipAddress'] = [{ publicIpAddress: '' }])),
      'network.interface[0].ipv4.ipAddress[0].privateIpAddress: nothing is not an IPv4 address',
    ],
    [
      'a private address that is not IPv4',
      broken((d) => (ipv4(d, 1)['ipAddress'] = [{ privateIpAddress: '10.1.0.256', publicIpAddress: '' }])),
      "network.interface[1].ipv4.ipAddress[0].privateIpAddress: '10.1.0.256' is not an IPv4 address",
    ],
    ['a subnet prefix as a number', broken((d) => (ipv4(d, 0)['subnet'] = [{ address: '10.1.0.0', prefix: 20 }])), 'network.interface[0].ipv4.subnet[0].prefix: number is not a prefix length (a string, 0 to 32)'],
    ['a subnet prefix out of range', broken((d) => (ipv4(d, 0)['subnet'] = [{ address: '10.1.0.0', prefix: '33' }])), "network.interface[0].ipv4.subnet[0].prefix: '33' is not a prefix length (a string, 0 to 32)"],
    ['a subnet address that is not IPv4', broken((d) => (ipv4(d, 0)['subnet'] = [{ address: 'x', prefix: '20' }])), "network.interface[0].ipv4.subnet[0].address: 'x' is not an IPv4 address"],
    ['one MAC twice', broken((d) => (nic(d, 1)['macAddress'] = '00-0D-3A-F8-06-EC')), 'network.interface: MAC 00:0d:3a:f8:06:ec is listed twice'],
  ])('refuses %s, naming the field', (_name, doc, message) => {
    expect(() => decodeNetworkMetadata(doc)).toThrow(new ImdsNetworkDecodeError(message));
  });
});

describe('observationFromImds', () => {
  const known = new Map<string, KnownNic>([
    ['00:0d:3a:f8:06:ec', { id: NIC0, deviceIndex: 0 }],
    ['00:0d:3a:f8:06:ed', { id: NIC1, deviceIndex: 1 }],
  ]);

  it('names each NIC by the id and device index its MAC had in the last describe; no prefixes, no VNet ranges', () => {
    expect(observationFromImds(decodeNetworkMetadata(network()), known)).toEqual({
      interfaces: [
        { mac: '00:0d:3a:f8:06:ec', deviceIndex: 0, id: NIC0, addresses: ['10.1.0.4', '10.1.0.5'], prefixes: [] },
        { mac: '00:0d:3a:f8:06:ed', deviceIndex: 1, id: NIC1, addresses: ['10.1.0.9'], prefixes: [] },
      ],
    });
  });

  it('keeps the MAC as the id of a NIC the last describe did not report, so the comparison sees it', () => {
    const observed = observationFromImds(decodeNetworkMetadata(network()), new Map([...known].slice(0, 1)));
    expect(observed.interfaces[1]).toMatchObject({ id: '00:0d:3a:f8:06:ed', deviceIndex: 1 });
    const expected = { vpcCidrs: ['10.1.0.0/16'], interfaces: [{ id: NIC0, addresses: ['10.1.0.4', '10.1.0.5'], prefixes: [] }] };
    expect(observationDifference(observed, expected)).toBe('00:0d:3a:f8:06:ed is attached but not known');
  });
});

describe('a described NIC against its IMDS view', () => {
  const config = (name: string, address: string, primary = false): IpConfigView => ({ name, primary, address, subnetId: SUBNET, provisioningState: 'Succeeded' });

  function snapshotOf(configs: IpConfigView[]): NodeSnapshot {
    const nic = nicInterface({ id: NIC0, mac: '00:0d:3a:f8:06:ec', configs }, 0, '10.1.0.0/20');
    if (nic === undefined) throw new Error('NIC not usable');
    return { instanceId: 'vm', instanceType: 'Standard_D4s_v5', primaryIp: '10.1.0.4', vpcCidrs: ['10.1.0.0/16'], limits: { maxInterfaces: 1, ipv4PerInterface: 256 }, interfaces: [nic] };
  }

  const imdsWith = (addresses: string[]) =>
    observationFromImds(
      decodeNetworkMetadata({ interface: [{ macAddress: '000D3AF806EC', ipv4: { ipAddress: addresses.map((a) => ({ privateIpAddress: a, publicIpAddress: '' })), subnet: [] } }] }),
      new Map([['00:0d:3a:f8:06:ec', { id: NIC0, deviceIndex: 0 }]]),
    );

  it("expects another writer's configuration as an other address, never the pool's", () => {
    const node = snapshotOf([config('ipconfig1', '10.1.0.4', true), config('nativeip-1', '10.1.0.5'), config('vip', '10.1.0.7')]);
    expect(node.interfaces[0]).toMatchObject({ secondaryIps: ['10.1.0.5'], otherIps: ['10.1.0.7'] });
    const pool = new AddressPool();
    pool.addInterface(node.interfaces[0]!);
    const expected = expectedNodeOf(node, pool);
    expect(observationDifference(imdsWith(['10.1.0.4', '10.1.0.5', '10.1.0.7']), expected)).toBeUndefined();
    // The other writer removed it: the view differs, so the reconciler describes and learns the room it left.
    expect(observationDifference(imdsWith(['10.1.0.4', '10.1.0.5']), expected)).toBe(`${NIC0}: 10.1.0.7 not on the node`);
    // A configuration added since the last describe differs too.
    expect(observationDifference(imdsWith(['10.1.0.4', '10.1.0.5', '10.1.0.7', '10.1.0.8']), expected)).toBe(`${NIC0}: 10.1.0.8 on the node but not known`);
  });

  it('a NIC with only the primary and ours has no other addresses', () => {
    expect(snapshotOf([config('ipconfig1', '10.1.0.4', true), config('nativeip-1', '10.1.0.5')]).interfaces[0]).not.toHaveProperty('otherIps');
  });
});

describe('the emulated IMDS network document', () => {
  function setup() {
    const state = new AzureState({
      subscriptionId: 'sub',
      resourceGroup: 'rg',
      location: 'eastus',
      vnetName: 'vnet',
      vnetCidr: '10.1.0.0/16',
      subnets: [{ name: 'nodes', cidr: '10.1.0.0/20' }],
      clock: () => 0,
      ids: seededIdSource(3),
      operationLatencyMs: 0,
      onChange: () => undefined,
    });
    return { state, vm: state.createVm({ name: 'vm1', nics: 2 }) };
  }

  it('has the real shape: MAC upper case without separators, ipv4.ipAddress with private and public, subnet address and prefix', () => {
    const { state, vm } = setup();
    const nic = state.nic(vm.nicIds[0]!)!;
    const doc = imdsNetworkJson(state, vm);
    expect(doc).toEqual({
      interface: [
        {
          ipv4: { ipAddress: [{ privateIpAddress: nic.configs[0]!.address, publicIpAddress: '' }], subnet: [{ address: '10.1.0.0', prefix: '20' }] },
          ipv6: { ipAddress: [] },
          macAddress: nic.mac.replace(/-/g, ''),
        },
        expect.objectContaining({ macAddress: expect.stringMatching(/^[0-9A-F]{12}$/) }),
      ],
    });
    expect(imdsInstanceJson(state, vm)['network']).toEqual(doc);
    expect(decodeNetworkMetadata(doc).map((i) => i.mac)).toEqual(decodeInstanceMetadata(imdsInstanceJson(state, vm)).interfaces.map((i) => i.mac));
  });

  it("lists another writer's configuration with the primary first", () => {
    const { state, vm } = setup();
    const nicId = vm.nicIds[0]!;
    const added = state.addForeignConfig(nicId, 'vip');
    const [first] = decodeNetworkMetadata(imdsNetworkJson(state, vm));
    expect(first?.addresses).toEqual([state.nic(nicId)!.configs[0]!.address, added]);
  });
});

describe('LaggedView', () => {
  it('shows the first view at once and each later one only after the lag', () => {
    const view = new LaggedView<string>(3_000);
    expect(view.viewAt(0)).toBeUndefined();
    view.record(10_000, 'created', 'a');
    expect(view.viewAt(0)).toBe('created');
    view.record(20_000, 'grown', 'b');
    expect(view.viewAt(22_999)).toBe('created');
    expect(view.viewAt(23_000)).toBe('grown');
    view.record(21_000, 'shrunk', 'c');
    expect(view.viewAt(23_500)).toBe('grown');
    expect(view.viewAt(24_000)).toBe('shrunk');
  });

  it('ignores a view equal to the last one, so an unchanged NIC keeps its time', () => {
    const view = new LaggedView<string>(1_000);
    view.record(0, 'v1', 'a');
    view.record(5_000, 'v2', 'b');
    view.record(5_500, 'v2 again', 'b');
    expect(view.viewAt(6_000)).toBe('v2');
  });

  it('with no lag shows each change at once', () => {
    const view = new LaggedView<number>(0);
    view.record(0, 1, '1');
    view.record(5, 2, '2');
    expect(view.viewAt(5)).toBe(2);
  });

  it('refuses a negative lag', () => {
    expect(() => new LaggedView(-1)).toThrow(RangeError);
  });
});
