/**
 * EC2's published request throttling, per account and region: one token bucket per class of
 * action (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html). Pure data,
 * shared by the AWS provider's client-side limiter (providers/aws/ec2-request-limiter.ts), the
 * EC2 emulator that enforces it, and the churn simulator.
 */
import type { TokenBucketSpec } from './token-bucket.js';

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
