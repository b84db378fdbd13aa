/**
 * The NativeipNode status: how full the node is and why, built from the pool, and when it is
 * worth a write. Pure: time is passed in.
 *
 * Writes are coalesced by what they tell an operator: a change of state, readiness, failure,
 * interfaces, max pods or policy is written within {@link CHANGE_WRITE_MS}; counts alone (pods
 * coming and going) at most every {@link COUNTS_WRITE_MS}, or sooner when the node's fill moved
 * by a {@link FILL_STEP} of its max pods. Steady churn thus costs a handful of writes an hour.
 */
import type { AddressPool } from '../pool/plan/address-pool.js';
import type { StatusResult } from '../../rpc/protocol.js';
import type { NativeipNodeStatus } from './cluster-port.js';

export const CHANGE_WRITE_MS = 5_000;
export const COUNTS_WRITE_MS = 15 * 60_000;
/** A move of the assigned count by this share of max pods is written without waiting for {@link COUNTS_WRITE_MS}. */
export const FILL_STEP = 0.25;

export interface NodeStatusInput {
  readonly status: StatusResult;
  readonly pool: AddressPool;
  readonly nowMs: number;
  readonly lastFailure?: NativeipNodeStatus['lastFailure'];
  /** Why no pod can get an address now (the pool's outlook), if so. */
  readonly reason?: NativeipNodeStatus['reason'];
  readonly cloudCalls: NativeipNodeStatus['cloudCalls'];
}

export function buildNodeStatus(input: NodeStatusInput): NativeipNodeStatus {
  const { status, pool, nowMs } = input;
  const interfaces = pool.interfaces().map((pif) => {
    const addresses = pool.addressesOf(pif.id);
    let assigned = 0;
    let coolingDown = 0;
    for (const a of addresses) {
      if (a.owner !== undefined) assigned += 1;
      else if (a.coolingUntilMs !== undefined && a.coolingUntilMs > nowMs) coolingDown += 1;
    }
    return {
      id: pif.id,
      subnetId: pif.subnetId,
      deviceIndex: pif.deviceIndex,
      total: addresses.length,
      assigned,
      free: addresses.length - assigned - coolingDown,
      coolingDown,
      prefixes: pool.prefixesOf(pif.id),
    };
  });
  return {
    cloud: status.cloud,
    instanceId: status.instanceId,
    instanceType: status.instanceType,
    maxPods: status.maxPods ?? 0,
    ready: status.state !== 'blocked',
    state: status.state,
    addresses: { total: status.pool.total, assigned: status.pool.assigned, free: status.pool.available, coolingDown: status.pool.coolingDown },
    interfaces,
    ...(input.reason === undefined ? {} : { reason: input.reason }),
    warmPool: status.warmPool ?? { policy: 'unknown' },
    ...(input.lastFailure === undefined ? {} : { lastFailure: input.lastFailure }),
    cloudCalls: input.cloudCalls,
    observedAt: new Date(nowMs).toISOString(),
  };
}

/** What an operator reads at a glance, without the counts that move with every pod. */
function shapeOf(status: NativeipNodeStatus): string {
  return JSON.stringify([
    status.state,
    status.ready,
    status.reason,
    status.maxPods,
    status.instanceType,
    status.lastFailure,
    status.warmPool.policy,
    status.interfaces.map((i) => [i.id, i.subnetId, i.prefixes]),
  ]);
}

/** Whether `next` is worth writing now, given what was last written and when. */
export function shouldWriteStatus(last: { status: NativeipNodeStatus; atMs: number } | undefined, next: NativeipNodeStatus, nowMs: number): boolean {
  if (last === undefined) return true;
  const since = nowMs - last.atMs;
  if (shapeOf(last.status) !== shapeOf(next)) return since >= CHANGE_WRITE_MS;
  const step = Math.max(1, Math.ceil(next.maxPods * FILL_STEP));
  if (Math.abs(next.addresses.assigned - last.status.addresses.assigned) >= step) return since >= CHANGE_WRITE_MS;
  return since >= COUNTS_WRITE_MS && (next.addresses.assigned !== last.status.addresses.assigned || next.addresses.total !== last.status.addresses.total);
}
