/**
 * Pure diffing of the emulator's topology against what the fabric has wired: no I/O.
 * The result is a list of operations that {@link renderSyncCommands} turns into command batches.
 */
import { cidrContains, intToIpv4, parseCidr } from '../../core/ipv4.js';

/** One attached interface as the fabric needs it; the emulator's `TopologyInterface` fits. */
export interface FabricTopologyInterface {
  readonly interfaceId: string;
  readonly mac: string;
  readonly deviceIndex: number;
  readonly subnetCidr: string;
  readonly gateway: string;
  readonly primaryIp: string;
  readonly secondaryIps: readonly string[];
  /** Delegated /28 prefixes (`10.0.0.16/28`): every address in them is the interface's. Absent means none. */
  readonly prefixes?: readonly string[];
}

/** The part of the emulator's `EmulatorTopology` the fabric reads. */
export interface FabricTopology {
  readonly networkCidr: string;
  readonly instances: readonly {
    readonly instanceId: string;
    readonly interfaces: readonly FabricTopologyInterface[];
  }[];
}

/** An ENI the fabric has wired as a veth pair between the vpc namespace and a node namespace. */
export interface InterfaceWiring {
  readonly interfaceId: string;
  readonly mac: string;
  readonly deviceIndex: number;
  /** Name of the veth end in the vpc namespace, e.g. `n1e0`. */
  readonly vpcLink: string;
  /** Name of the veth end in the node namespace: `eth<deviceIndex>`. */
  readonly nodeLink: string;
  /** Every address routed to this ENI (primary and secondary), sorted. */
  readonly addresses: readonly string[];
  /** Every delegated prefix routed to this ENI as a whole, sorted. */
  readonly prefixes: readonly string[];
  /** The ENI's primary address. */
  readonly primaryIp: string;
}

/** An emulated instance the fabric has wired as a node namespace. */
export interface NodeWiring {
  readonly instanceId: string;
  /** Network namespace name, `<prefix>n<index>`. */
  readonly netns: string;
  /** Short node number used in link names of the vpc namespace. */
  readonly index: number;
  readonly interfaces: ReadonlyMap<string, InterfaceWiring>;
}

/** What the fabric has wired so far. */
export interface FabricState {
  readonly nextNodeIndex: number;
  readonly nodes: ReadonlyMap<string, NodeWiring>;
}

/** The primary ENI's boot-time configuration inside the node, as the node's OS would do it. */
export interface PrimaryConfig {
  readonly address: string;
  readonly prefixLength: number;
  readonly gateway: string;
}

export type FabricOp =
  | { readonly kind: 'add-node'; readonly instanceId: string; readonly netns: string }
  | { readonly kind: 'remove-node'; readonly instanceId: string; readonly netns: string }
  | {
      readonly kind: 'add-interface';
      readonly netns: string;
      readonly interfaceId: string;
      readonly vpcLink: string;
      readonly nodeLink: string;
      readonly mac: string;
      readonly gateway: string;
      /** Set for device index 0 only: secondary ENIs are left down and unconfigured. */
      readonly primary: PrimaryConfig | undefined;
    }
  | {
      readonly kind: 'remove-interface';
      readonly netns: string;
      readonly interfaceId: string;
      readonly vpcLink: string;
      /** Addresses whose source-check entries go with the link. */
      readonly addresses: readonly string[];
      /** Delegated prefixes whose source-check entries go with the link; absent when none. */
      readonly prefixes?: readonly string[];
      /** Device 0 only: its primary address, whose internet-gateway entry goes with it. */
      readonly publicSource?: string;
    }
  | { readonly kind: 'add-address'; readonly vpcLink: string; readonly mac: string; readonly address: string }
  | { readonly kind: 'remove-address'; readonly vpcLink: string; readonly address: string }
  | {
      readonly kind: 'add-prefix';
      readonly vpcLink: string;
      /** The ENI's primary address: the prefix's next hop, so packets reach the ENI's MAC. */
      readonly via: string;
      /** The delegated block, `10.0.0.16/28`. */
      readonly prefix: string;
    }
  | { readonly kind: 'remove-prefix'; readonly vpcLink: string; readonly prefix: string };

export const EMPTY_FABRIC_STATE: FabricState = { nextNodeIndex: 1, nodes: new Map() };

/** Namespace name of the node with the given number. */
export function nodeNetnsName(prefix: string, index: number): string {
  return `${prefix}n${index}`;
}

/** Link name, in the vpc namespace, of the veth end of a node's ENI. At most 15 characters. */
export function vpcLinkName(nodeIndex: number, deviceIndex: number): string {
  return `n${nodeIndex}e${deviceIndex}`;
}

function addressesOf(eni: FabricTopologyInterface): string[] {
  return [...new Set([eni.primaryIp, ...eni.secondaryIps])].sort();
}

function prefixesOf(eni: FabricTopologyInterface): string[] {
  return [...new Set(eni.prefixes ?? [])].sort();
}

function sameWiring(wired: InterfaceWiring, eni: FabricTopologyInterface): boolean {
  return wired.mac === eni.mac.toLowerCase() && wired.deviceIndex === eni.deviceIndex;
}

function removeInterface(netns: string, wired: InterfaceWiring): FabricOp {
  return {
    kind: 'remove-interface',
    netns,
    interfaceId: wired.interfaceId,
    vpcLink: wired.vpcLink,
    addresses: wired.addresses,
    ...(wired.prefixes.length > 0 ? { prefixes: wired.prefixes } : {}),
    ...(wired.deviceIndex === 0 ? { publicSource: wired.primaryIp } : {}),
  };
}

function primaryConfig(eni: FabricTopologyInterface): PrimaryConfig | undefined {
  if (eni.deviceIndex !== 0) return undefined;
  return { address: eni.primaryIp, prefixLength: parseCidr(eni.subnetCidr).prefixLength, gateway: eni.gateway };
}

/**
 * Compares the topology with the wired state and returns the operations that make the fabric
 * match, removals first, plus the state after they are applied. Applying the operations in order
 * never needs a link or route that an earlier operation removes.
 */
export function planSync(
  state: FabricState,
  topology: FabricTopology,
  prefix: string,
): { readonly ops: FabricOp[]; readonly next: FabricState } {
  const removals: FabricOp[] = [];
  const additions: FabricOp[] = [];
  const nodes = new Map<string, NodeWiring>();
  let nextNodeIndex = state.nextNodeIndex;
  const wanted = new Map(topology.instances.map((i) => [i.instanceId, i]));

  for (const node of state.nodes.values()) {
    if (wanted.has(node.instanceId)) continue;
    for (const eni of node.interfaces.values()) removals.push(removeInterface(node.netns, eni));
    removals.push({ kind: 'remove-node', instanceId: node.instanceId, netns: node.netns });
  }

  for (const instance of topology.instances) {
    let node = state.nodes.get(instance.instanceId);
    if (node === undefined) {
      const index = nextNodeIndex++;
      node = { instanceId: instance.instanceId, netns: nodeNetnsName(prefix, index), index, interfaces: new Map() };
      additions.push({ kind: 'add-node', instanceId: instance.instanceId, netns: node.netns });
    }
    const wiredInterfaces = new Map<string, InterfaceWiring>();
    const attached = new Map(instance.interfaces.map((e) => [e.interfaceId, e]));
    for (const wired of node.interfaces.values()) {
      const eni = attached.get(wired.interfaceId);
      if (eni === undefined || !sameWiring(wired, eni)) removals.push(removeInterface(node.netns, wired));
    }
    for (const eni of instance.interfaces) {
      const mac = eni.mac.toLowerCase();
      const addresses = addressesOf(eni);
      const prefixes = prefixesOf(eni);
      const wired = node.interfaces.get(eni.interfaceId);
      const vpcLink = vpcLinkName(node.index, eni.deviceIndex);
      if (wired === undefined || !sameWiring(wired, eni)) {
        additions.push({
          kind: 'add-interface',
          netns: node.netns,
          interfaceId: eni.interfaceId,
          vpcLink,
          nodeLink: `eth${eni.deviceIndex}`,
          mac,
          gateway: eni.gateway,
          primary: primaryConfig(eni),
        });
        for (const address of addresses) additions.push({ kind: 'add-address', vpcLink, mac, address });
        for (const block of prefixes) additions.push({ kind: 'add-prefix', vpcLink, via: eni.primaryIp, prefix: block });
      } else {
        const had = new Set(wired.addresses);
        const has = new Set(addresses);
        for (const address of wired.addresses) {
          if (!has.has(address)) removals.push({ kind: 'remove-address', vpcLink, address });
        }
        for (const address of addresses) {
          if (!had.has(address)) additions.push({ kind: 'add-address', vpcLink, mac, address });
        }
        const hadPrefixes = new Set(wired.prefixes);
        const hasPrefixes = new Set(prefixes);
        for (const block of wired.prefixes) {
          if (!hasPrefixes.has(block)) removals.push({ kind: 'remove-prefix', vpcLink, prefix: block });
        }
        for (const block of prefixes) {
          if (!hadPrefixes.has(block)) additions.push({ kind: 'add-prefix', vpcLink, via: eni.primaryIp, prefix: block });
        }
      }
      wiredInterfaces.set(eni.interfaceId, {
        interfaceId: eni.interfaceId,
        mac,
        deviceIndex: eni.deviceIndex,
        vpcLink,
        nodeLink: `eth${eni.deviceIndex}`,
        addresses,
        prefixes,
        primaryIp: eni.primaryIp,
      });
    }
    nodes.set(instance.instanceId, { ...node, interfaces: wiredInterfaces });
  }

  return { ops: [...removals, ...additions], next: { nextNodeIndex, nodes } };
}

/**
 * The vpc-host's default address: the second-to-last address of the VPC CIDR, which the
 * emulator's subnets normally leave alone. {@link findAddressClash} checks that they do.
 */
export function defaultVpcHostIp(vpcCidr: string): string {
  const { network, prefixLength } = parseCidr(vpcCidr);
  if (prefixLength > 30) throw new RangeError(`VPC CIDR ${vpcCidr} is too small for a vpc-host address`);
  return intToIpv4(network + 2 ** (32 - prefixLength) - 2);
}

/** The VPC router's own address (VPC base + 1), used as the vpc-host's next hop. */
export function vpcRouterIp(vpcCidr: string): string {
  return intToIpv4(parseCidr(vpcCidr).network + 1);
}

/**
 * Why the vpc-host address cannot be used with this topology, or undefined when it can: it must
 * lie in the VPC CIDR and outside every subnet (`subnetCidrs` and those of the ENIs), so no ENI
 * can ever hold it.
 */
export function findAddressClash(
  topology: FabricTopology,
  vpcHostIp: string,
  subnetCidrs: readonly string[] = [],
): string | undefined {
  if (!cidrContains(topology.networkCidr, vpcHostIp)) {
    return `vpc-host address ${vpcHostIp} is outside the VPC CIDR ${topology.networkCidr}`;
  }
  for (const cidr of subnetCidrs) {
    if (cidrContains(cidr, vpcHostIp)) return `vpc-host address ${vpcHostIp} lies in subnet ${cidr}; pass another vpcHostIp`;
  }
  for (const instance of topology.instances) {
    for (const eni of instance.interfaces) {
      if (cidrContains(eni.subnetCidr, vpcHostIp)) {
        return `vpc-host address ${vpcHostIp} lies in subnet ${eni.subnetCidr} of ${eni.interfaceId} on ${instance.instanceId}; pass another vpcHostIp`;
      }
    }
  }
  return undefined;
}
