import { TokenBucket } from '../../core/token-bucket.js';
import type { QueryParams } from './query-params.js';

/** The one token bucket implementation (src/core), re-exported for the emulator's users. */
export { TokenBucket };

export type ThrottleClass = 'unfilteredDescribe' | 'describe' | 'attachDetach' | 'eniMutation' | 'tags';

/**
 * Why these figures: EC2's published request token buckets (per account and region),
 * https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
 */
export const THROTTLE_BUCKETS: Readonly<Record<ThrottleClass, { capacity: number; refillPerSecond: number }>> = {
  unfilteredDescribe: { capacity: 50, refillPerSecond: 10 },
  describe: { capacity: 100, refillPerSecond: 20 },
  attachDetach: { capacity: 50, refillPerSecond: 5 },
  eniMutation: { capacity: 100, refillPerSecond: 5 },
  tags: { capacity: 100, refillPerSecond: 10 },
};

const ACTION_CLASSES: Readonly<Record<string, ThrottleClass>> = {
  AttachNetworkInterface: 'attachDetach',
  DetachNetworkInterface: 'attachDetach',
  AssignPrivateIpAddresses: 'eniMutation',
  UnassignPrivateIpAddresses: 'eniMutation',
  CreateNetworkInterface: 'eniMutation',
  DeleteNetworkInterface: 'eniMutation',
  ModifyNetworkInterfaceAttribute: 'eniMutation',
  CreateTags: 'tags',
  DeleteTags: 'tags',
};

/** Describe* calls with neither ids, filters nor paging are "unfiltered and unpaginated". */
export function throttleClassOf(action: string, params: QueryParams): ThrottleClass {
  const named = ACTION_CLASSES[action];
  if (named !== undefined) return named;
  const narrowed = ['Filter', 'MaxResults', 'NextToken', 'NetworkInterfaceId', 'InstanceId', 'SubnetId', 'InstanceType'].some(
    (p) => params.hasAny(p),
  );
  return action.startsWith('Describe') && !narrowed ? 'unfilteredDescribe' : 'describe';
}

/** One bucket per class, shared by all actions of that class (as on EC2). */
export class Throttler {
  private readonly buckets: Record<ThrottleClass, TokenBucket>;

  constructor(clock: () => number) {
    const make = (c: ThrottleClass): TokenBucket => TokenBucket.of(THROTTLE_BUCKETS[c], clock);
    this.buckets = {
      unfilteredDescribe: make('unfilteredDescribe'),
      describe: make('describe'),
      attachDetach: make('attachDetach'),
      eniMutation: make('eniMutation'),
      tags: make('tags'),
    };
  }

  /** True when the call may proceed. */
  admit(action: string, params: QueryParams): boolean {
    return this.buckets[throttleClassOf(action, params)].take();
  }
}
