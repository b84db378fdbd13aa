/**
 * How long the pool waits before growing again after a failed cloud call, and when it gives up on
 * prefixes for a while. Pure: time and randomness are passed in.
 */
import type { ExhaustionReason } from '../../core/node-availability.js';
import { CloudError, type CloudErrorCode } from '../../core/types.js';
import type { GrowPlan } from './plan/warm-targets.js';
import { jittered, type GrowBlock } from './grow-block.js';

export const MIN_BACKOFF_MS = 1_000;
export const MAX_BACKOFF_MS = 60_000;
/** A full subnet does not empty itself quickly; the AWS VPC CNI also waits 2 minutes. */
export const SUBNET_FULL_BACKOFF_MS = 120_000;
/**
 * After the cloud throttled this node, it gives nothing back for this long: a release draws from
 * the same request bucket as the grows of every node of the account (EC2's mutating bucket, ARM's
 * writes), and a scale-up is when they are short.
 */
export const THROTTLED_NO_SHRINK_MS = 1_800_000;
/** After a fragmented subnet refused a prefix, grow with single addresses this long before trying prefixes again. */
export const PREFIX_RETRY_MS = 300_000;

/** Failures that mean the node or the subnet is full (CNI code 100), not that the call failed. */
const LIMIT_CODES: ReadonlySet<CloudErrorCode> = new Set(['SubnetExhausted', 'InterfaceLimit', 'AddressLimit']);

/** The next backoff: twice this one, at most {@link MAX_BACKOFF_MS}. */
export function doubledBackoff(backoffMs: number): number {
  return Math.min(MAX_BACKOFF_MS, backoffMs * 2);
}

/** True while a release should wait because the cloud throttled this node recently. */
export function shrinkDeferredByThrottling(throttledAtMs: number | undefined, nowMs: number): boolean {
  return throttledAtMs !== undefined && nowMs - throttledAtMs < THROTTLED_NO_SHRINK_MS;
}

/** A limit blocks growth; limits do not lift by themselves, so the next reconcile or release rechecks. */
export function limitBlock(reason: string, cause: ExhaustionReason, nowMs: number): GrowBlock {
  return { reason, cause, retryable: false, untilMs: nowMs + MIN_BACKOFF_MS };
}

/** The Node condition's reason for a failed cloud call. */
export function exhaustionReasonOf(error: unknown): ExhaustionReason {
  if (!(error instanceof CloudError)) return 'CloudError';
  switch (error.code) {
    case 'SubnetExhausted':
      return 'SubnetFull';
    case 'InterfaceLimit':
    case 'AddressLimit':
      return 'InterfaceLimit';
    case 'Throttled':
      return 'Throttled';
    default:
      return 'CloudError';
  }
}

export interface FailureBackoff {
  /** What pods are told until growth resumes. */
  readonly block: GrowBlock;
  readonly waitMs: number;
  /** The backoff for the next failure in a row. */
  readonly nextBackoffMs: number;
}

/**
 * The pause after a failed cloud call. Throttling composes in three layers: the provider keeps
 * this node within the cloud's request budget (AWS: ec2-request-limiter.ts), the SDK retries a
 * throttled request itself (AWS standard mode: 3 attempts, full jitter), and only then does the
 * failure reach this backoff: equal jitter (half the delay plus up to half again at random),
 * doubling from 1 s to 60 s, so a fleet throttled together spreads its retries (the backoff EC2
 * asks clients for: https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html).
 * A full subnet waits 120 s, as the AWS VPC CNI does. Pods meanwhile get the reason and the wait.
 */
export function backoffAfter(error: unknown, backoffMs: number, nowMs: number, random: () => number): FailureBackoff {
  const retryAfter = error instanceof CloudError ? error.retryAfterMs : undefined;
  const subnetFull = error instanceof CloudError && error.code === 'SubnetExhausted';
  const waitMs = subnetFull ? SUBNET_FULL_BACKOFF_MS : Math.min(MAX_BACKOFF_MS, retryAfter ?? jittered(backoffMs, random));
  const reason = error instanceof Error ? error.message : String(error);
  const retryable = error instanceof CloudError ? error.retryable : true;
  const cloudFailure = error instanceof CloudError && !retryable && !LIMIT_CODES.has(error.code);
  const cause = exhaustionReasonOf(error);
  return { block: { reason, cause, retryable, untilMs: nowMs + waitMs, backoff: true, ...(cloudFailure ? { cloudFailure } : {}) }, waitMs, nextBackoffMs: doubledBackoff(backoffMs) };
}

/**
 * True when a grow that asked for prefixes failed for lack of an aligned free /28: the pool then
 * grows with single addresses for a while instead of failing pods (the AWS VPC CNI has no fallback).
 */
export function prefixesRefused(plan: GrowPlan, error: unknown): boolean {
  const askedPrefixes = plan.kind === 'assign-prefixes' || (plan.kind === 'create' && (plan.prefixCount ?? 0) > 0);
  return askedPrefixes && error instanceof CloudError && error.code === 'SubnetExhausted' && error.fragmented;
}
