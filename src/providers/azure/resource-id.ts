/**
 * ARM resource ids: parsing the ones nativeip reads (VMs, scale-set instances, NICs, subnets)
 * and building the ones it writes. Pure.
 */

/** The parts of an ARM resource id that the provider needs. */
export interface ResourceId {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  /** `Microsoft.Network`, `Microsoft.Compute`. */
  readonly provider: string;
  /** Alternating type and name segments after the provider, e.g. `['networkInterfaces', 'nic1']`. */
  readonly segments: readonly string[];
}

/** Parses `/subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}/{name}[/{type}/{name}…]`. */
export function parseResourceId(id: string): ResourceId | undefined {
  const parts = id.split('/');
  if (parts[0] !== '' || parts.length < 9) return undefined;
  const [, subs, subscriptionId, groups, resourceGroup, providers, provider, ...segments] = parts;
  if (subs?.toLowerCase() !== 'subscriptions' || groups?.toLowerCase() !== 'resourcegroups' || providers?.toLowerCase() !== 'providers') {
    return undefined;
  }
  if (!subscriptionId || !resourceGroup || !provider || segments.length < 2 || segments.length % 2 !== 0 || segments.some((s) => s === '')) {
    return undefined;
  }
  return { subscriptionId, resourceGroup, provider, segments };
}

/** The value after `type` in the id's segments (case-insensitive type), if present. */
export function segmentValue(id: ResourceId, type: string): string | undefined {
  const lower = type.toLowerCase();
  for (let i = 0; i + 1 < id.segments.length; i += 2) {
    if (id.segments[i]?.toLowerCase() === lower) return id.segments[i + 1];
  }
  return undefined;
}

/** The resource's own name: the last segment. */
export function resourceName(id: ResourceId): string {
  return id.segments[id.segments.length - 1] ?? '';
}

/** A scale-set instance of a Uniform scale set: `…/virtualMachineScaleSets/{ss}/virtualMachines/{n}`. */
export interface UniformInstanceRef {
  readonly resourceGroup: string;
  readonly scaleSetName: string;
  readonly instanceId: string;
}

/**
 * How the VM's NICs are changed. Why: a Uniform scale-set instance has no NIC resources of its
 * own (its NICs live under the scale set, changed through the instance's network profile);
 * standalone VMs and Flexible-orchestration instances are ordinary `virtualMachines` with
 * ordinary NIC resources. IMDS reports the instance's resource id, whose shape tells which.
 */
export type VmKind =
  | { readonly kind: 'vm'; readonly resourceGroup: string; readonly vmName: string }
  | ({ readonly kind: 'uniform' } & UniformInstanceRef);

export function vmKindOf(resourceId: string): VmKind | undefined {
  const id = parseResourceId(resourceId);
  if (id === undefined || id.provider.toLowerCase() !== 'microsoft.compute') return undefined;
  const [type, name, subType, subName] = id.segments;
  if (type?.toLowerCase() === 'virtualmachines' && name !== undefined && id.segments.length === 2) {
    return { kind: 'vm', resourceGroup: id.resourceGroup, vmName: name };
  }
  if (
    type?.toLowerCase() === 'virtualmachinescalesets' &&
    name !== undefined &&
    subType?.toLowerCase() === 'virtualmachines' &&
    subName !== undefined &&
    id.segments.length === 4
  ) {
    return { kind: 'uniform', resourceGroup: id.resourceGroup, scaleSetName: name, instanceId: subName };
  }
  return undefined;
}

/** `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/{vnet}` of a subnet id. */
export function vnetIdOfSubnet(subnetId: string): string | undefined {
  const id = parseResourceId(subnetId);
  if (id === undefined) return undefined;
  const vnet = segmentValue(id, 'virtualNetworks');
  if (vnet === undefined || segmentValue(id, 'subnets') === undefined) return undefined;
  return `/subscriptions/${id.subscriptionId}/resourceGroups/${id.resourceGroup}/providers/${id.provider}/virtualNetworks/${vnet}`;
}

/** ARM ids compare case-insensitively. */
export function sameResourceId(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** `00-0D-3A-1B-2C-3D` or `000D3A1B2C3D` (ARM, IMDS) → `00:0d:3a:1b:2c:3d`; undefined when not a MAC. */
export function normaliseMac(mac: string): string | undefined {
  const hex = mac.replace(/[-:]/g, '').toLowerCase();
  if (!/^[0-9a-f]{12}$/.test(hex)) return undefined;
  return hex.match(/../g)?.join(':');
}
