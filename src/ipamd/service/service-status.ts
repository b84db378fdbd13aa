/** The STATUS the plugin, the CLI and the cluster agent see: the pool's state and who holds what. */
import type { StatusResult } from '../../rpc/protocol.js';
import type { CheckpointAllocation } from '../checkpoint/checkpoint.js';
import type { HeldAddress } from './held-addresses.js';
import type { PoolManager } from '../pool/pool-manager.js';

/** `blocked` when the pool is empty and a limit, a full subnet or throttling stops it growing (its outlook says why). */
export function serviceStatus(
  pool: PoolManager,
  allocations: Iterable<CheckpointAllocation>,
  nowMs: number,
  records: { readonly held: readonly HeldAddress[]; readonly unsettled: string | undefined } = { held: [], unsettled: undefined },
): StatusResult {
  const stats = pool.pool.stats(nowMs);
  const blocked = stats.available > 0 ? undefined : pool.outlook().blocked;
  const state = stats.available > 0 ? 'ready' : blocked !== undefined ? 'blocked' : 'growing';
  const step = pool.growStep;
  return {
    state,
    ...(blocked === undefined ? {} : { reason: blocked.message }),
    ...(step === undefined ? {} : { grow: { doing: step.doing, forMs: Math.max(0, Math.round(nowMs - step.sinceMs)) } }),
    cloud: pool.cloudName,
    instanceId: pool.node.instanceId,
    instanceType: pool.node.instanceType,
    maxPods: pool.maxPods,
    warmPool: pool.warmPoolStatus(),
    pool: stats,
    interfaces: pool.pool.interfaces().map((pif) => {
      const addresses = pool.pool.addressesOf(pif.id);
      return {
        id: pif.id,
        deviceIndex: pif.deviceIndex,
        subnetId: pif.subnetId,
        addresses: addresses.length,
        assigned: addresses.filter((a) => a.owner !== undefined).length,
      };
    }),
    pods: [...allocations].map((a) => ({
      networkName: a.networkName,
      containerId: a.containerId,
      ifName: a.ifName,
      ...(a.podNamespace === undefined ? {} : { podNamespace: a.podNamespace }),
      ...(a.podName === undefined ? {} : { podName: a.podName }),
      address: a.address,
      interfaceId: a.interfaceId,
    })),
    ...(records.held.length === 0
      ? {}
      : {
          held: records.held.map((h) => ({
            address: h.address,
            ...(h.hostVeth === undefined ? {} : { hostVeth: h.hostVeth }),
            ...(h.pod === undefined ? {} : { podNamespace: h.pod.namespace, podName: h.pod.name }),
            source: h.source,
          })),
        }),
    ...(records.unsettled === undefined ? {} : { unsettled: records.unsettled }),
  };
}
