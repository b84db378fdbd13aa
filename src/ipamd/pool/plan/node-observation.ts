/**
 * Pure comparison of what the instance sees of its interfaces (CloudProvider.observeNode, AWS
 * IMDS) with what the pool believes, so the reconciler calls the cloud's API only on a mismatch.
 */
import type { AddressPool } from './address-pool.js';
import type { NodeObservation, NodeSnapshot } from '../../../core/types.js';

/** One interface as the pool believes it is in the cloud. */
export interface ExpectedInterface {
  readonly id: string;
  /** Every IPv4 address on the interface, its primary included. */
  readonly addresses: readonly string[];
  readonly prefixes: readonly string[];
}

export interface ExpectedNode {
  readonly interfaces: readonly ExpectedInterface[];
  readonly vpcCidrs: readonly string[];
}

/**
 * The first difference between the observation and the expectation, said for a log line
 * ("eni-1: 10.0.0.7 not on the node"); undefined when they agree. Order does not matter.
 */
export function observationDifference(observed: NodeObservation, expected: ExpectedNode): string | undefined {
  const seen = new Map(observed.interfaces.map((i) => [i.id, i]));
  for (const want of expected.interfaces) {
    const got = seen.get(want.id);
    if (got === undefined) return `${want.id} is not attached`;
    const addresses = setDifference(want.addresses, got.addresses);
    if (addresses !== undefined) return `${want.id}: ${addresses}`;
    const prefixes = setDifference(want.prefixes, got.prefixes);
    if (prefixes !== undefined) return `${want.id}: prefix ${prefixes}`;
    seen.delete(want.id);
  }
  const extra = seen.keys().next();
  if (extra.done !== true) return `${extra.value} is attached but not known`;
  if (observed.vpcCidrs !== undefined) {
    const cidrs = setDifference(expected.vpcCidrs, observed.vpcCidrs);
    if (cidrs !== undefined) return `VPC CIDR ${cidrs}`;
  }
  return undefined;
}

/** Says what differs between two sets given as lists ("10.0.0.7 not on the node"). */
function setDifference(expected: readonly string[], observed: readonly string[]): string | undefined {
  const got = new Set(observed);
  const want = new Set(expected);
  for (const item of want) if (!got.has(item)) return `${item} not on the node`;
  for (const item of got) if (!want.has(item)) return `${item} on the node but not known`;
  return undefined;
}

/**
 * The node as the pool believes it is: interfaces the pool uses with the pool's addresses and
 * prefixes, the others as last described; each with the addresses that are not the pool's
 * (`CloudInterface.otherIps`) as last described.
 */
export function expectedNodeOf(node: NodeSnapshot, pool: AddressPool): ExpectedNode {
  return {
    vpcCidrs: node.vpcCidrs,
    interfaces: node.interfaces.map((cloud) => {
      const others = cloud.otherIps ?? [];
      if (!pool.hasInterface(cloud.id)) {
        return { id: cloud.id, addresses: [cloud.primaryIp, ...cloud.secondaryIps, ...others], prefixes: cloud.prefixes ?? [] };
      }
      const secondary = pool.addressesOf(cloud.id).filter((a) => a.prefix === undefined).map((a) => a.address);
      return { id: cloud.id, addresses: [cloud.primaryIp, ...secondary, ...others], prefixes: pool.prefixesOf(cloud.id) };
    }),
  };
}
