/** Why the pool cannot grow, and the error pods get meanwhile. Pure. */
import type { ExhaustionReason } from '../../core/node-availability.js';
import { RpcServiceError } from '../../rpc/errors.js';

/** Why the pool cannot grow right now; pods get this text in their CNI error. */
export interface GrowBlock {
  readonly reason: string;
  /** The reason's class, as the Node condition names it. */
  readonly cause: ExhaustionReason;
  /** True when retrying soon can help (throttling, transient cloud failures). */
  readonly retryable: boolean;
  readonly untilMs: number;
  /** True when the block is a backoff after a failed cloud call: at `untilMs` the pool calls again. */
  readonly backoff?: boolean;
  /**
   * True when a cloud call failed for a reason other than a limit or a full subnet, and retrying
   * soon will not help (permissions, a request the cloud refuses, something gone): CNI code 102.
   */
  readonly cloudFailure?: boolean;
}

/** The pod's error: why the pool cannot grow and, after a failed cloud call, when it tries again. */
export function noAddressError(block: GrowBlock, nowMs: number): RpcServiceError {
  const retry = block.backoff === true ? `; retrying in ${formatWait(block.untilMs - nowMs)}` : '';
  const message = `no free address: ${block.reason}${retry}`;
  if (block.retryable) return new RpcServiceError('PoolEmptyGrowing', message);
  return new RpcServiceError(block.cloudFailure === true ? 'CloudFailed' : 'PoolExhausted', message);
}

function formatWait(ms: number): string {
  const seconds = Math.max(0, ms) / 1000;
  return seconds < 10 ? `${seconds.toFixed(1)} s` : `${Math.round(seconds)} s`;
}

/** "Equal jitter": half the delay, plus up to half again at random, so retries spread out. */
export function jittered(ms: number, random: () => number): number {
  return ms / 2 + random() * (ms / 2);
}
