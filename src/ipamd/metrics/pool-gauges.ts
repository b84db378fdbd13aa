/**
 * The pool's gauges, computed from the pool manager when scraped. Pure given the view: one pass
 * over the pool's addresses.
 */
import { addressState, type AddressPool } from '../pool/plan/address-pool.js';
import type { WarmBand } from '../pool/plan/adaptive-target.js';
import type { NodeSnapshot } from '../../core/types.js';
import type { ExhaustionReason } from '../../core/node-availability.js';
import type { ReconcileCounts } from '../pool/reconcile-gate.js';
import type { WarmPoolStatus } from '../../rpc/protocol.js';

/** What the gauges read from the pool manager (PoolManager fits it). */
export interface PoolView {
  readonly pool: AddressPool;
  /** Throws before the pool has read the node. */
  readonly node: NodeSnapshot;
  readonly maxPods: number;
  readonly growing: boolean;
  readonly pending: number;
  readonly block: { readonly cause: ExhaustionReason } | undefined;
  readonly reconcileCounts: ReconcileCounts;
  adaptiveBand(): WarmBand | undefined;
  warmPoolStatus(): WarmPoolStatus;
}

export interface AddressStates {
  readonly assigned: number;
  readonly cooling: number;
  readonly free: number;
}

export interface PoolGauges {
  readonly addresses: AddressStates;
  readonly interfaces: readonly { readonly id: string; readonly deviceIndex: number; readonly subnetId: string; readonly addresses: AddressStates }[];
  readonly prefixes: number;
  readonly interfacesMax: number;
  readonly addressesMax: number;
  readonly maxPods: number;
  readonly policy: WarmPoolStatus['policy'];
  readonly band: WarmBand | undefined;
  readonly growing: boolean;
  readonly pending: number;
  readonly blocked: ExhaustionReason | undefined;
  readonly reconciles: ReconcileCounts;
}

/** The gauges now; undefined before the pool has read the node. */
export function poolGauges(view: PoolView, nowMs: number): PoolGauges | undefined {
  let node: NodeSnapshot;
  try {
    node = view.node;
  } catch {
    return undefined;
  }
  const total = { assigned: 0, cooling: 0, free: 0 };
  let prefixes = 0;
  const interfaces = view.pool.interfaces().map((pif) => {
    const states = { assigned: 0, cooling: 0, free: 0 };
    for (const a of view.pool.addressesOf(pif.id)) {
      const state = addressState(a, nowMs);
      states[state] += 1;
      total[state] += 1;
    }
    prefixes += view.pool.prefixesOf(pif.id).length;
    return { id: pif.id, deviceIndex: pif.deviceIndex, subnetId: pif.subnetId, addresses: states };
  });
  const { maxInterfaces, ipv4PerInterface } = node.limits;
  return {
    addresses: total,
    interfaces,
    prefixes,
    interfacesMax: maxInterfaces,
    addressesMax: maxInterfaces * Math.max(0, ipv4PerInterface - 1),
    maxPods: view.maxPods,
    policy: view.warmPoolStatus().policy,
    band: view.adaptiveBand(),
    growing: view.growing,
    pending: view.pending,
    blocked: view.block?.cause,
    reconciles: view.reconcileCounts,
  };
}
