/**
 * ARM JSON for the emulated resources (the wire shape, with `properties`), and decoding of the PUT
 * bodies the emulator accepts. Pure.
 */
import type { DesiredConfig, IpConfigRecord, NicRecord, VmRecord } from './arm-model.js';
import type { AzureState } from './arm-state.js';
import { ArmApiError } from './errors.js';

type Json = Record<string, unknown>;

export function ipConfigJson(nic: NicRecord, config: IpConfigRecord): Json {
  return {
    id: `${nic.id}/ipConfigurations/${config.name}`,
    name: config.name,
    etag: nic.etag,
    type: 'Microsoft.Network/networkInterfaces/ipConfigurations',
    properties: {
      provisioningState: config.provisioningState,
      privateIPAddress: config.address,
      privateIPAllocationMethod: config.allocation,
      privateIPAddressVersion: 'IPv4',
      subnet: { id: config.subnetId },
      primary: config.primary,
    },
  };
}

export function nicJson(state: AzureState, nic: NicRecord): Json {
  const configs = state.visibleConfigs(nic);
  return {
    id: nic.id,
    name: nic.name,
    type: 'Microsoft.Network/networkInterfaces',
    location: state.location,
    etag: nic.etag,
    properties: {
      provisioningState: nic.pending === undefined ? 'Succeeded' : 'Updating',
      macAddress: nic.mac,
      primary: nic.primary,
      virtualMachine: { id: nic.vmId },
      enableAcceleratedNetworking: false,
      enableIPForwarding: false,
      ipConfigurations: configs.map((c) => ipConfigJson(nic, c)),
    },
  };
}

export function vmJson(state: AzureState, vm: VmRecord): Json {
  return {
    id: vm.id,
    name: vm.name,
    type: 'Microsoft.Compute/virtualMachines',
    location: state.location,
    properties: {
      vmId: vm.vmId,
      provisioningState: 'Succeeded',
      hardwareProfile: { vmSize: vm.vmSize },
      networkProfile: { networkInterfaces: vm.nicIds.map((id, i) => ({ id, properties: { primary: i === 0 } })) },
    },
  };
}

export function vnetJson(state: AzureState): Json {
  return {
    id: state.vnetId,
    name: state.vnetId.split('/').pop(),
    type: 'Microsoft.Network/virtualNetworks',
    location: state.location,
    properties: {
      provisioningState: 'Succeeded',
      addressSpace: { addressPrefixes: [state.vnetCidr] },
      subnets: [...state.subnets.values()].map((s) => ({ id: s.id, name: s.name, properties: { addressPrefix: s.cidr, provisioningState: 'Succeeded' } })),
    },
  };
}

/** A Uniform scale-set instance: its NICs and the network profile that defines them. */
export function scaleSetVmJson(state: AzureState, vm: VmRecord): Json {
  const nics = vm.nicIds.flatMap((id) => {
    const nic = state.nic(id);
    return nic === undefined ? [] : [nic];
  });
  const updating = nics.some((n) => n.pending !== undefined);
  return {
    id: vm.id,
    name: vm.name,
    type: 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines',
    location: state.location,
    instanceId: vm.scaleSet?.instanceId,
    etag: vm.etag,
    properties: {
      vmId: vm.vmId,
      latestModelApplied: true,
      provisioningState: updating ? 'Updating' : 'Succeeded',
      hardwareProfile: { vmSize: vm.vmSize },
      networkProfile: { networkInterfaces: nics.map((n) => ({ id: n.id, properties: { primary: n.primary } })) },
      networkProfileConfiguration: {
        networkInterfaceConfigurations: nics.map((n) => ({
          name: n.name,
          properties: {
            primary: n.primary,
            ipConfigurations: state.visibleConfigs(n).map((c) => ({
              name: c.name,
              properties: { primary: c.primary, privateIPAddressVersion: 'IPv4', subnet: { id: c.subnetId } },
            })),
          },
        })),
      },
    },
  };
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bad(message: string): never {
  throw new ArmApiError(400, 'InvalidRequestFormat', message);
}

function decodeConfig(value: unknown, where: string): DesiredConfig {
  if (!isRecord(value)) bad(`${where}: expected an object`);
  const name = value['name'];
  if (typeof name !== 'string' || name === '') bad(`${where}.name: expected a non-empty string`);
  const props = isRecord(value['properties']) ? value['properties'] : {};
  const subnet = props['subnet'];
  const subnetId = isRecord(subnet) && typeof subnet['id'] === 'string' ? subnet['id'] : undefined;
  const method = props['privateIPAllocationMethod'];
  const address = props['privateIPAddress'];
  return {
    name,
    primary: props['primary'] === true,
    subnetId,
    allocation: method === 'Static' ? 'Static' : 'Dynamic',
    address: typeof address === 'string' ? address : undefined,
  };
}

/** The IP configurations of a NIC PUT body. */
export function decodeNicPut(body: unknown): DesiredConfig[] {
  if (!isRecord(body)) bad('the body is not a JSON object');
  const props = isRecord(body['properties']) ? body['properties'] : bad('properties: missing');
  const configs = props['ipConfigurations'];
  if (!Array.isArray(configs) || configs.length === 0) bad('properties.ipConfigurations: expected a non-empty array');
  return configs.map((c: unknown, i) => decodeConfig(c, `properties.ipConfigurations[${i}]`));
}

/** The IP configurations per NIC name of a scale-set instance PUT body. */
export function decodeScaleSetVmPut(body: unknown): Map<string, DesiredConfig[]> {
  if (!isRecord(body)) bad('the body is not a JSON object');
  const props = isRecord(body['properties']) ? body['properties'] : bad('properties: missing');
  const profile = isRecord(props['networkProfileConfiguration']) ? props['networkProfileConfiguration'] : bad('properties.networkProfileConfiguration: missing');
  const nics = profile['networkInterfaceConfigurations'];
  if (!Array.isArray(nics)) bad('networkInterfaceConfigurations: expected an array');
  const out = new Map<string, DesiredConfig[]>();
  nics.forEach((nic: unknown, i) => {
    const where = `networkInterfaceConfigurations[${i}]`;
    if (!isRecord(nic) || typeof nic['name'] !== 'string') bad(`${where}.name: expected a string`);
    const nicProps = isRecord(nic['properties']) ? nic['properties'] : {};
    const configs = nicProps['ipConfigurations'];
    if (!Array.isArray(configs) || configs.length === 0) bad(`${where}.properties.ipConfigurations: expected a non-empty array`);
    out.set(nic['name'].toLowerCase(), configs.map((c: unknown, j) => ({ ...decodeConfig(c, `${where}.ipConfigurations[${j}]`), allocation: 'Dynamic' as const })));
  });
  return out;
}

/**
 * Azure IMDS `/metadata/instance/network` for a VM, from committed state: each NIC by its MAC (upper
 * case, no separators), its private addresses with the primary configuration's first, its subnet.
 */
export function imdsNetworkJson(state: AzureState, vm: VmRecord): Json {
  const interfaces = vm.nicIds.flatMap((id) => {
    const nic = state.nic(id);
    if (nic === undefined) return [];
    const primary = nic.configs.find((c) => c.primary);
    const subnet = primary === undefined ? undefined : state.subnets.get(primary.subnetId.toLowerCase());
    const [address, prefix] = (subnet?.cidr ?? '0.0.0.0/0').split('/');
    return [
      {
        ipv4: {
          ipAddress: [...nic.configs].sort((a, b) => Number(b.primary) - Number(a.primary)).map((c) => ({ privateIpAddress: c.address, publicIpAddress: '' })),
          subnet: [{ address, prefix }],
        },
        ipv6: { ipAddress: [] },
        macAddress: nic.mac.replace(/-/g, ''),
      },
    ];
  });
  return { interface: interfaces };
}

/** Azure IMDS `/metadata/instance` for a VM: its compute part, and the network part given (IMDS's lagging view). */
export function imdsInstanceJson(state: AzureState, vm: VmRecord, network: Json = imdsNetworkJson(state, vm)): Json {
  return {
    compute: {
      azEnvironment: 'AzurePublicCloud',
      location: state.location,
      name: vm.name,
      osType: 'Linux',
      resourceGroupName: state.resourceGroup,
      resourceId: vm.id,
      subscriptionId: state.subscriptionId,
      vmId: vm.vmId,
      vmScaleSetName: vm.scaleSet?.name ?? '',
      vmSize: vm.vmSize,
      zone: '',
    },
    network,
  };
}
