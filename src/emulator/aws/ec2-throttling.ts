/**
 * EC2's request throttling as the emulated EC2 enforces it, per account: one token bucket per class
 * of action, with EC2's published figures (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html).
 * The AWS provider's client-side limiter keeps its own copy (src/providers/aws/ec2-request-classes.ts):
 * an emulator plays the cloud and never imports a provider; test/unit/ec2-throttling-agree.test.ts
 * fails when the two disagree. Pure data.
 */
import type { TokenBucketSpec } from '../../core/token-bucket.js';

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
