/**
 * EC2's published throttling is known twice, on purpose: by the AWS provider's client-side limiter
 * and by the EC2 emulator that enforces it (an emulator plays the cloud and never imports a
 * provider). The two copies must say the same, or the simulators and the emulator would measure a
 * client tuned to another EC2.
 */
import { expect, it } from 'vitest';
import * as emulated from '../../src/emulator/aws/ec2-throttling.js';
import * as client from '../../src/providers/aws/ec2-request-classes.js';

it('the provider\'s limiter and the EC2 emulator use the same request classes and buckets', () => {
  expect(client.EC2_REQUEST_BUCKETS).toEqual(emulated.EC2_REQUEST_BUCKETS);
  expect(client.EC2_ACTION_CLASSES).toEqual(emulated.EC2_ACTION_CLASSES);
  expect(Object.keys(client.EC2_ACTION_CLASSES).length).toBeGreaterThan(5);
});
