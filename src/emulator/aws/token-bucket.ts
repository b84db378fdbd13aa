import { TokenBucket } from '../../core/token-bucket.js';
import { EC2_ACTION_CLASSES, EC2_REQUEST_BUCKETS, type Ec2RequestClass } from './ec2-throttling.js';
import type { QueryParams } from './query-params.js';

/** The one token bucket implementation (src/core), re-exported for the emulator's users. */
export { TokenBucket };

/** EC2's published classes and buckets: the same facts the client-side limiter mirrors. */
export type ThrottleClass = Ec2RequestClass;
export const THROTTLE_BUCKETS = EC2_REQUEST_BUCKETS;
const ACTION_CLASSES = EC2_ACTION_CLASSES;

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
