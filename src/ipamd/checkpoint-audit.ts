/**
 * A checkpoint is one record among several: before its allocations are trusted, they are checked
 * against the others. Pure.
 *
 * - The same address in two allocations (a hand-edited file, a bug): only one pod can have it.
 *   The kernel decides: the allocation whose host veth the address's `/32` route goes over keeps
 *   it. When the kernel shows neither (or cannot be read), the most recent assignment keeps it (its
 *   ADD wrote the route last). Every other one is dropped from the checkpoint and reported; its
 *   pod's leftovers are swept by GC and its DEL finds nothing to release.
 * - An address the node does not have in the cloud (`inPool` false): the allocation is kept so
 *   that kubelet's DEL still removes the pod's network, but it is reported and marked `stranded`:
 *   no `from` rule is written for it, and CHECK fails for it.
 */
import type { CheckpointAllocation } from './checkpoint.js';

export interface KernelPodRoute {
  readonly address: string;
  readonly hostVeth: string;
}

export interface CheckpointFinding {
  readonly kind: 'duplicate-address' | 'address-not-on-node';
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
  const byAddress = new Map<string, CheckpointAllocation[]>();
  for (const allocation of allocations) {
    const group = byAddress.get(allocation.address);
    if (group === undefined) byAddress.set(allocation.address, [allocation]);
    else group.push(allocation);
  }
  const kept: CheckpointAllocation[] = [];
  const stranded: CheckpointAllocation[] = [];
  const findings: CheckpointFinding[] = [];
  for (const [address, group] of byAddress) {
    const winner = group.length === 1 ? group[0]! : chooseHolder(group, routedOver.get(address));
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

function chooseHolder(group: readonly CheckpointAllocation[], routedVeth: string | undefined): CheckpointAllocation {
  const routed = group.find((a) => a.hostVeth === routedVeth);
  if (routed !== undefined) return routed;
  return group.reduce((latest, a) => (a.assignedAtMs > latest.assignedAtMs ? a : latest));
}
