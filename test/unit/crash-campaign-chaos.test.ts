import { expect, it } from 'vitest';
import { CHECKPOINT_DAMAGE, damageCheckpoint, planRound, seededRandom } from '../../src/demo/crash-campaign/chaos.js';
import { decodeCheckpoint } from '../../src/ipamd/checkpoint/checkpoint.js';
import { signCheckpoint } from '../../src/ipamd/checkpoint/checkpoint-checksum.js';

const checkpoint = JSON.stringify({
  version: 1,
  instanceId: 'i-1',
  allocations: [
    { networkName: 'n', containerId: 'a', ifName: 'eth0', address: '10.0.0.5', interfaceId: 'eni-1', netns: '/x', hostVeth: 'enia', assignedAtMs: 1 },
    { networkName: 'n', containerId: 'b', ifName: 'eth0', address: '10.0.0.6', interfaceId: 'eni-1', netns: '/y', hostVeth: 'enib', assignedAtMs: 2 },
  ],
  cooldowns: [],
});

it('the same seed gives the same choices', () => {
  const a = seededRandom(5);
  const b = seededRandom(5);
  expect(Array.from({ length: 5 }, a)).toEqual(Array.from({ length: 5 }, b));
});

it('each damage makes the file unusable as it was, or gives one address to two allocations', () => {
  const random = seededRandom(1);
  expect(damageCheckpoint(checkpoint, 'deleted', random)).toBeUndefined();
  expect(() => decodeCheckpoint(damageCheckpoint(checkpoint, 'truncated', random)!, 'x')).toThrow();
  const doubled = decodeCheckpoint(damageCheckpoint(checkpoint, 'doubled', random)!, 'x');
  expect(new Set(doubled.allocations.map((a) => a.address)).size).toBe(1);
  expect(damageCheckpoint(checkpoint, 'garbled', random)).not.toBe(checkpoint);
});

it('damage kinds and second-daemon modes take turns', () => {
  const random = seededRandom(3);
  const turn = { damage: 0, second: 0 };
  const plans = Array.from({ length: 200 }, () => planRound(random, { kill: 1, damage: 1, secondDaemon: 0.5, maxChanges: 4 }, turn));
  expect(plans.slice(0, 4).map((p) => p.damage)).toEqual([...CHECKPOINT_DAMAGE]);
  expect(new Set(plans.map((p) => p.secondDaemon))).toEqual(new Set(['refused', 'takeover', undefined]));
});

it('a signed checkpoint: garbled is damage the checksum shows, doubled is re-signed and reads as a sound file', () => {
  const signed = signCheckpoint(JSON.parse(checkpoint) as Record<string, unknown>);
  const random = seededRandom(3);
  expect(() => decodeCheckpoint(damageCheckpoint(signed, 'garbled', random)!, 'x')).toThrow();
  const doubled = decodeCheckpoint(damageCheckpoint(signed, 'doubled', random)!, 'x');
  expect(new Set(doubled.allocations.map((a) => a.address)).size).toBe(1);
});
