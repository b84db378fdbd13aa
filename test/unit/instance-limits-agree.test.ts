/**
 * Instance-type limits are known twice, on purpose: by the AWS provider (its built-in table, read by
 * `nativeip max-pods`) and by the EC2 emulator (the types it plays). They must agree on every type
 * both know.
 */
import { expect, it } from 'vitest';
import { instanceTypeTable } from '../../src/emulator/aws/instance-types.js';
import { instanceLimits, knownInstanceTypes } from '../../src/providers/aws/instance-limits.js';

it('the provider\'s built-in table and the EC2 emulator agree on every shared instance type', () => {
  const emulated = instanceTypeTable();
  const shared = knownInstanceTypes().filter((name) => emulated.has(name));
  expect(shared.length).toBeGreaterThan(30);
  for (const name of shared) {
    const info = emulated.get(name)!;
    expect(instanceLimits(name), name).toEqual({ maxInterfaces: info.maxInterfaces, ipv4PerInterface: info.ipv4PerInterface, vcpus: info.vcpus });
  }
});
