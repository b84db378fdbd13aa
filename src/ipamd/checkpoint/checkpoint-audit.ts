/**
 * A checkpoint is one record among several: before its allocations are trusted, they are checked
 * against the others. Pure.
 *
 * - The same address in two allocations (a hand-edited file, a bug): only one pod can have it.
 *   The kernel decides: the allocation whose host veth the address's `/32` route goes over keeps
 *   it. When the kernel shows neither (or cannot be read), the most recent assignment keeps it (its
 *   ADD wrote the route last). Every other one is dropped from the checkpoint and reported; its
 *   pod's leftovers are swept by GC and its DEL finds nothing to release.
 * - The same pod interface (allocation key) in two allocations: a pod interface has one address.
 *   The one whose address the kernel routes over its host veth keeps it, else the most recent;
 *   the other is dropped and reported. Its address, if a pod still uses it, is held from the
 *   kernel like any address no allocation records (held-addresses.ts).
 * - An allocation the kernel contradicts: its host veth carries another address and not its own,
 *   or its address is routed over another veth. The record is wrong about its address (a damaged
 *   checkpoint gave it another pod's) or about its veth (a character of the name changed). It is
 *   dropped and reported; what the kernel shows is held from the kernel like any address no
 *   allocation records (held-addresses.ts), with the veth the kernel shows, so the pod keeps its
 *   address and its DEL still removes its network. Kept, such a record took the other pod's
 *   address and the start-up rewrite gave it a `from` rule for it that no sweep removes while the
 *   pod lives (found by the crash campaign, AWS seed 1); or, with a wrong veth name, it left the
 *   pod's real veth to the leftover sweep as nobody's, and its DEL would delete the route of the
 *   pod that really has the address.
 * - An address the node does not have in the cloud (`inPool` false): the allocation is kept so
 *   that kubelet's DEL still removes the pod's network, but it is reported and marked `stranded`:
 *   no `from` rule is written for it, and CHECK fails for it.
 */
import type { AllocationKey } from '../../rpc/protocol.js';
import type { CheckpointAllocation } from './checkpoint.js';

/** An allocation's identity: one address per pod interface of one network. */
export function allocationKey(key: AllocationKey): string {
  return `${key.networkName}/${key.containerId}/${key.ifName}`;
}

export interface KernelPodRoute {
  readonly address: string;
  readonly hostVeth: string;
  /** The host veth's alias (see veth-alias.ts). */
  readonly alias?: string;
}

export interface CheckpointFinding {
  readonly kind: 'duplicate-key' | 'address-contradicted' | 'duplicate-address' | 'address-not-on-node';
  readonly containerId: string;
  readonly ifName: string;
  readonly address: string;
  /** What happened to the allocation and why, for the log. */
  readonly detail: string;
}

export interface CheckpointAudit {
  /** Allocations to restore (each address once). */
  readonly kept: readonly CheckpointAllocation[];
  /** Kept allocations whose address the node no longer has in the cloud. */
  readonly stranded: readonly CheckpointAllocation[];
  readonly findings: readonly CheckpointFinding[];
}

/**
 * @param routes the kernel's pod routes; undefined when they could not be read.
 * @param inPool whether the node has the address in the cloud (its pool knows it).
 */
export function auditCheckpoint(
  allocations: readonly CheckpointAllocation[],
  routes: readonly KernelPodRoute[] | undefined,
  inPool: (address: string) => boolean,
): CheckpointAudit {
  const routedOver = new Map((routes ?? []).map((r) => [r.address, r.hostVeth]));
  const findings: CheckpointFinding[] = [];
  const byKey = new Map<string, CheckpointAllocation[]>();
  for (const allocation of allocations) {
    const key = allocationKey(allocation);
    const group = byKey.get(key);
    if (group === undefined) byKey.set(key, [allocation]);
    else group.push(allocation);
  }
  const unique: CheckpointAllocation[] = [];
  for (const [key, group] of byKey) {
    const winner = group.length === 1 ? group[0]! : chooseByRoute(group, (a) => routedOver.get(a.address) === a.hostVeth);
    unique.push(winner);
    for (const loser of group.filter((a) => a !== winner)) {
      const why = routedOver.get(winner.address) === winner.hostVeth ? `the kernel routes ${winner.address} to its veth ${winner.hostVeth}` : `the kernel shows neither; ${winner.address} was assigned last`;
      findings.push({
        kind: 'duplicate-key',
        containerId: loser.containerId,
        ifName: loser.ifName,
        address: loser.address,
        detail: `${key} is in ${group.length} allocations; dropped the one with ${loser.address}, kept ${winner.address}: ${why}`,
      });
    }
  }
  const carriedBy = new Map<string, Set<string>>();
  for (const route of routes ?? []) carriedBy.set(route.hostVeth, new Set([...(carriedBy.get(route.hostVeth) ?? []), route.address]));
  const consistent: CheckpointAllocation[] = [];
  for (const allocation of unique) {
    const carried = carriedBy.get(allocation.hostVeth);
    const over = routedOver.get(allocation.address);
    let contradiction: string | undefined;
    if (carried !== undefined && !carried.has(allocation.address)) contradiction = `the kernel routes ${[...carried].join(', ')} over its host veth ${allocation.hostVeth}, not ${allocation.address}`;
    else if (over !== undefined && over !== allocation.hostVeth) contradiction = `the kernel routes ${allocation.address} over ${over}, not over its host veth ${allocation.hostVeth}`;
    if (contradiction === undefined) {
      consistent.push(allocation);
      continue;
    }
    findings.push({
      kind: 'address-contradicted',
      containerId: allocation.containerId,
      ifName: allocation.ifName,
      address: allocation.address,
      detail: `${contradiction}: the record is wrong; dropped (what the kernel shows is held from the kernel)`,
    });
  }
  const byAddress = new Map<string, CheckpointAllocation[]>();
  for (const allocation of consistent) {
    const group = byAddress.get(allocation.address);
    if (group === undefined) byAddress.set(allocation.address, [allocation]);
    else group.push(allocation);
  }
  const kept: CheckpointAllocation[] = [];
  const stranded: CheckpointAllocation[] = [];
  for (const [address, group] of byAddress) {
    const winner = group.length === 1 ? group[0]! : chooseByRoute(group, (a) => a.hostVeth === routedOver.get(address));
    for (const loser of group.filter((a) => a !== winner)) {
      const why =
        routedOver.get(address) === winner.hostVeth
          ? `the kernel routes it to ${winner.hostVeth} (container ${winner.containerId})`
          : `the kernel routes it to neither; container ${winner.containerId} had it last`;
      findings.push({
        kind: 'duplicate-address',
        containerId: loser.containerId,
        ifName: loser.ifName,
        address,
        detail: `${address} is in ${group.length} allocations; dropped this one (host veth ${loser.hostVeth}): ${why}`,
      });
    }
    kept.push(winner);
    if (!inPool(address)) {
      stranded.push(winner);
      findings.push({
        kind: 'address-not-on-node',
        containerId: winner.containerId,
        ifName: winner.ifName,
        address,
        detail: `${address} is not on any of the node's interfaces in the cloud: kept so its DEL removes the pod's network, but no from rule is written and CHECK fails`,
      });
    }
  }
  return { kept, stranded, findings };
}

/** The allocation the kernel backs (`routed`), else the most recently assigned. */
function chooseByRoute(group: readonly CheckpointAllocation[], routed: (a: CheckpointAllocation) => boolean): CheckpointAllocation {
  return group.find(routed) ?? group.reduce((latest, a) => (a.assignedAtMs > latest.assignedAtMs ? a : latest));
}
