/**
 * Whether the node can give a pod an address, as the cluster is told: the Node condition
 * `NativeipAddressesAvailable` and, for reasons that do not clear in seconds, a NoSchedule taint
 * so the scheduler sends pods elsewhere. Pure: time is passed in, nothing is written here.
 *
 * Hysteresis: the taint goes on only after the node has been exhausted for {@link AvailabilityPolicy.settleMs}
 * and comes off only after it has been able to serve for as long, and it stays on for at least
 * {@link AvailabilityPolicy.minTaintedMs}; so a node at its limit whose pods come and go one at a
 * time costs at most two Node writes per `minTaintedMs + settleMs`, never one per pod.
 */

/** Why a node cannot give a pod an address: the condition's reason and the taint's value. */
export type ExhaustionReason = 'InterfaceLimit' | 'SubnetFull' | 'MaxPods' | 'Throttled' | 'CloudError';

/** Every {@link ExhaustionReason}, for checking a value read from outside (a Node's taint). */
export const EXHAUSTION_REASONS: readonly ExhaustionReason[] = ['InterfaceLimit', 'SubnetFull', 'MaxPods', 'Throttled', 'CloudError'];

export function isExhaustionReason(value: string): value is ExhaustionReason {
  return (EXHAUSTION_REASONS as readonly string[]).includes(value);
}

/** The condition's reason while the node can serve. */
export const AVAILABLE_REASON = 'AddressesAvailable';

/**
 * Reasons that do not clear within seconds: interface and address limits, a full subnet, max
 * pods. Throttling and other cloud failures back off and retry within a minute, so they set the
 * condition but never the taint (a taint would move pods for a blip).
 */
export const LASTING_REASONS: ReadonlySet<ExhaustionReason> = new Set(['InterfaceLimit', 'SubnetFull', 'MaxPods']);

/** What the pool says about itself now. */
export interface PoolOutlook {
  /** Addresses a pod can get right now. */
  readonly free: number;
  /** Released addresses resting before reuse: free again within the cooldown. */
  readonly coolingDown: number;
  /** Why the pool cannot grow now; undefined when it can (or is growing). */
  readonly blocked?: { readonly reason: ExhaustionReason; readonly message: string };
}

export interface AvailabilityPolicy {
  /** False: the condition only, never the taint (`NATIVEIP_TAINT_EXHAUSTED_NODES=false`). */
  readonly taint: boolean;
  /** How long exhaustion (or recovery) must hold before the taint changes. */
  readonly settleMs: number;
  /** Shortest time the taint stays on once set. */
  readonly minTaintedMs: number;
}

export const DEFAULT_AVAILABILITY_POLICY: AvailabilityPolicy = { taint: true, settleMs: 2_000, minTaintedMs: 10_000 };

/** The Node condition and taint nativeip wants now. */
export interface NodeAvailability {
  readonly available: boolean;
  readonly reason: ExhaustionReason | typeof AVAILABLE_REASON;
  readonly message: string;
  /** The taint's value (its reason) while the node is tainted. */
  readonly taint?: ExhaustionReason;
}

/** What the hysteresis remembers between two evaluations. */
export interface AvailabilityMemory {
  readonly taint?: ExhaustionReason;
  readonly taintedAtMs?: number;
  /** Since when the taint has been wanted (set) or unwanted (cleared) without a break. */
  readonly pendingSinceMs?: number;
}

export const INITIAL_AVAILABILITY: AvailabilityMemory = {};

/**
 * The condition alone: False while no address is free and the pool cannot grow. Its message
 * names no count that moves with every pod, so it changes (and is written) only when the answer
 * or its reason does.
 */
export function conditionOf(outlook: PoolOutlook): Omit<NodeAvailability, 'taint'> {
  if (outlook.free > 0 || outlook.blocked === undefined) {
    return { available: true, reason: AVAILABLE_REASON, message: 'the pool has free addresses or can get more' };
  }
  return { available: false, reason: outlook.blocked.reason, message: `no free address: ${outlook.blocked.message}` };
}

/** True when the node should carry the taint: nothing free, nothing cooling, and a lasting reason. */
function taintWanted(outlook: PoolOutlook): ExhaustionReason | undefined {
  if (outlook.free > 0 || outlook.coolingDown > 0 || outlook.blocked === undefined) return undefined;
  return LASTING_REASONS.has(outlook.blocked.reason) ? outlook.blocked.reason : undefined;
}

/** The condition and taint now, and the memory for the next evaluation. */
export function evaluateAvailability(
  memory: AvailabilityMemory,
  outlook: PoolOutlook,
  nowMs: number,
  policy: AvailabilityPolicy = DEFAULT_AVAILABILITY_POLICY,
): { readonly availability: NodeAvailability; readonly memory: AvailabilityMemory } {
  const condition = conditionOf(outlook);
  const wanted = policy.taint ? taintWanted(outlook) : undefined;
  let next: AvailabilityMemory;
  if ((wanted === undefined) === (memory.taint === undefined)) {
    // No change pending; a tainted node whose lasting reason changed keeps its taint with the new value.
    next = wanted === undefined || memory.taintedAtMs === undefined ? {} : { taint: wanted, taintedAtMs: memory.taintedAtMs };
  } else if (!policy.taint) {
    next = {};
  } else {
    const since = memory.pendingSinceMs ?? nowMs;
    const settled = nowMs - since >= policy.settleMs;
    const heldLongEnough = memory.taintedAtMs === undefined || nowMs - memory.taintedAtMs >= policy.minTaintedMs;
    if (wanted !== undefined && settled) next = { taint: wanted, taintedAtMs: nowMs };
    else if (wanted === undefined && settled && heldLongEnough) next = {};
    else next = { ...memory, pendingSinceMs: since };
  }
  const availability: NodeAvailability = next.taint === undefined ? condition : { ...condition, taint: next.taint };
  return { availability, memory: next };
}

/** When the result of {@link evaluateAvailability} can next change with the outlook unchanged. */
export function nextAvailabilityCheckMs(memory: AvailabilityMemory, policy: AvailabilityPolicy = DEFAULT_AVAILABILITY_POLICY): number | undefined {
  if (memory.pendingSinceMs === undefined) return undefined;
  const settleAt = memory.pendingSinceMs + policy.settleMs;
  return memory.taint !== undefined && memory.taintedAtMs !== undefined ? Math.max(settleAt, memory.taintedAtMs + policy.minTaintedMs) : settleAt;
}
