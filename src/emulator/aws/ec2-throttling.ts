/**
 * EC2's request throttling as the emulated EC2 enforces it, per account: one token bucket per class
 * of action, with EC2's published figures (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html).
 * The AWS provider's client-side limiter keeps its own copy (src/providers/aws/ec2-request-classes.ts):
 * an emulator plays the cloud and never imports a provider; test/unit/ec2-throttling-agree.test.ts
 * fails when the two disagree. Pure data.
 */
import { TokenBucket, type TokenBucketSpec } from '../../core/token-bucket.js';
import type { QueryParams } from './query-params.js';

export type Ec2RequestClass = 'unfilteredDescribe' | 'describe' | 'attachDetach' | 'eniMutation' | 'tags';

/** Bucket sizes and refill rates per request class. */
export const EC2_REQUEST_BUCKETS: Readonly<Record<Ec2RequestClass, TokenBucketSpec>> = {
  unfilteredDescribe: { capacity: 50, refillPerSecond: 10 },
  describe: { capacity: 100, refillPerSecond: 20 },
  attachDetach: { capacity: 50, refillPerSecond: 5 },
  eniMutation: { capacity: 100, refillPerSecond: 5 },
  tags: { capacity: 100, refillPerSecond: 10 },
};

/** Actions with a class of their own; every other action is a describe (filtered or not). */
export const EC2_ACTION_CLASSES: Readonly<Record<string, Ec2RequestClass>> = {
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

/** EC2's classes and buckets under the names the emulator's throttler uses. */
export type ThrottleClass = Ec2RequestClass;
export const THROTTLE_BUCKETS = EC2_REQUEST_BUCKETS;

/**
 * The class of a request to `action`. `narrowed`: the request names ids, filters or paging; a
 * Describe* call that does not is "unfiltered and unpaginated".
 */
export function throttleClass(action: string, narrowed: boolean): ThrottleClass {
  const named = EC2_ACTION_CLASSES[action];
  if (named !== undefined) return named;
  return action.startsWith('Describe') && !narrowed ? 'unfilteredDescribe' : 'describe';
}

/** The class of a Query API request: narrowed by any of these parameters. */
export function throttleClassOf(action: string, params: QueryParams): ThrottleClass {
  const narrowed = ['Filter', 'MaxResults', 'NextToken', 'NetworkInterfaceId', 'InstanceId', 'SubnetId', 'InstanceType'].some(
    (p) => params.hasAny(p),
  );
  return throttleClass(action, narrowed);
}

/**
 * One bucket per class, shared by all actions of that class (as on EC2): the account's, for the
 * HTTP server (ec2-server.ts) and the in-process backend (ec2-backend.ts) alike.
 */
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

  /** Takes a token of the class's bucket; true when the call may proceed. */
  admit(requestClass: ThrottleClass): boolean {
    return this.buckets[requestClass].take();
  }
}
