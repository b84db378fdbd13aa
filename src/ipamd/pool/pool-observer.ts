/**
 * What the pool tells whoever watches it (the daemon's metrics, the simulator's counters): pods
 * that waited for an address, pods that got none and why, and what reconciles found. Every
 * method is optional to implement and must not throw; the pool calls them synchronously.
 */
import type { ExhaustionReason } from '../../core/node-availability.js';

/** Why an ADD got no address: the block's cause, or a grow that did not finish within the ADD's wait. */
export type AssignFailureCause = ExhaustionReason | 'GrowTimeout';

/** What a reconcile found changed in the cloud behind the pool's back. */
export type ReconcileFinding = 'addresses_appeared' | 'addresses_vanished' | 'pod_addresses_vanished' | 'interfaces_appeared' | 'interfaces_vanished';

export interface PoolObserver {
  /** A pod found no free address, waited `ms`, and got one. */
  podWaited?(ms: number): void;
  /** A pod got no address. */
  assignFailed?(cause: AssignFailureCause): void;
  /** A reconcile found `count` of something changed in the cloud. */
  reconcileFound?(finding: ReconcileFinding, count: number): void;
}
