import { describe, expect, it } from 'vitest';
import { decodeInstanceMetadata } from '../../src/providers/azure/imds-client.js';
import { decodeJournal, encodeJournal } from '../../src/providers/azure/operation-journal.js';
import { normaliseMac, parseResourceId, vmKindOf, vnetIdOfSubnet } from '../../src/providers/azure/resource-id.js';

const RG = '/subscriptions/sub/resourceGroups/rg';

describe('resource ids', () => {
  it('tells a VM from a Uniform scale-set instance; Flexible instances are VMs', () => {
    expect(vmKindOf(`${RG}/providers/Microsoft.Compute/virtualMachines/vm1`)).toEqual({ kind: 'vm', resourceGroup: 'rg', vmName: 'vm1' });
    expect(vmKindOf(`${RG}/providers/Microsoft.Compute/virtualMachines/ss_1a2b3c`)).toEqual({ kind: 'vm', resourceGroup: 'rg', vmName: 'ss_1a2b3c' });
    expect(vmKindOf(`${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/ss/virtualMachines/3`)).toEqual({
      kind: 'uniform',
      resourceGroup: 'rg',
      scaleSetName: 'ss',
      instanceId: '3',
    });
    expect(vmKindOf(`${RG}/providers/Microsoft.Network/networkInterfaces/nic`)).toBeUndefined();
    expect(vmKindOf('vm1')).toBeUndefined();
  });

  it('finds the VNet of a subnet, case-insensitively', () => {
    expect(vnetIdOfSubnet(`/subscriptions/sub/resourcegroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s`)).toBe(
      '/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v',
    );
    expect(vnetIdOfSubnet(`${RG}/providers/Microsoft.Network/networkInterfaces/nic`)).toBeUndefined();
  });

  it.each(['', '/', 'subscriptions/s/resourceGroups/r/providers/P/t/n', `${RG}/providers/P/t`, `${RG}/providers/P/t//x/y`])('refuses %j', (id) => {
    expect(parseResourceId(id)).toBeUndefined();
  });

  it.each([
    ['00-0D-3A-1B-2C-3D', '00:0d:3a:1b:2c:3d'],
    ['000D3A1B2C3D', '00:0d:3a:1b:2c:3d'],
    ['00:0d:3a:1b:2c:3d', '00:0d:3a:1b:2c:3d'],
    ['00-0D-3A', undefined],
  ])('normalises MAC %s', (mac, expected) => {
    expect(normaliseMac(mac)).toBe(expected);
  });
});

describe('decodeInstanceMetadata', () => {
  const doc = {
    compute: {
      location: 'eastus',
      name: 'ss_3',
      resourceGroupName: 'rg',
      resourceId: `${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/ss/virtualMachines/3`,
      subscriptionId: 'sub',
      vmScaleSetName: 'ss',
      vmSize: 'Standard_D4s_v5',
    },
    network: {
      interface: [
        { macAddress: '000D3AF806EC', ipv4: { ipAddress: [{ privateIpAddress: '10.1.0.4', publicIpAddress: '' }], subnet: [{ address: '10.1.0.0', prefix: '20' }] } },
        { macAddress: 'bogus' },
      ],
    },
  };

  it('reads identity, scale set and NICs', () => {
    expect(decodeInstanceMetadata(doc)).toEqual({
      subscriptionId: 'sub',
      resourceGroup: 'rg',
      vmName: 'ss_3',
      vmSize: 'Standard_D4s_v5',
      location: 'eastus',
      resourceId: doc.compute.resourceId,
      scaleSetName: 'ss',
      interfaces: [{ mac: '00:0d:3a:f8:06:ec', addresses: ['10.1.0.4'], subnetCidr: '10.1.0.0/20' }],
    });
  });

  it('reads an empty scale-set name as a standalone VM', () => {
    expect(decodeInstanceMetadata({ ...doc, compute: { ...doc.compute, vmScaleSetName: '' } }).scaleSetName).toBeUndefined();
  });

  it.each(['subscriptionId', 'resourceId', 'vmSize'])('names a missing compute.%s', (field) => {
    const compute: Record<string, unknown> = { ...doc.compute };
    delete compute[field];
    expect(() => decodeInstanceMetadata({ ...doc, compute })).toThrow(`IMDS compute.${field} is missing`);
  });
});

describe('operation journal', () => {
  const op = { target: 't', nicId: 'n', kind: 'add' as const, names: ['nativeip-1'], poller: '{"state":{}}', startedAtMs: 5 };

  it('round-trips through JSON and encodes nothing when empty', () => {
    expect(decodeJournal(JSON.parse(JSON.stringify(encodeJournal([op]))))).toEqual([op]);
    expect(encodeJournal([])).toBeUndefined();
    expect(decodeJournal(undefined)).toEqual([]);
  });

  it.each([
    [{ version: 2, operations: [] }, /version 2 is not supported/],
    [{ version: 1 }, /operations: expected an array/],
    [{ version: 1, operations: [{ ...op, kind: 'move' }] }, /operations\[0\]\.kind/],
    [{ version: 1, operations: [{ ...op, names: [1] }] }, /operations\[0\]\.names/],
  ])('refuses %j', (value, message) => {
    expect(() => decodeJournal(value)).toThrow(message);
  });
});
