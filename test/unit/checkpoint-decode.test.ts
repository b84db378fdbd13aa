import { expect, it } from 'vitest';
import { CheckpointError, decodeCheckpoint } from '../../src/ipamd/checkpoint/checkpoint.js';
import { signCheckpoint } from '../../src/ipamd/checkpoint/checkpoint-checksum.js';

const allocation = { networkName: 'n', containerId: 'a', ifName: 'eth0', address: '10.0.0.5', interfaceId: 'eni-1', netns: '/run/netns/a', hostVeth: 'eni0123456789a', assignedAtMs: 1 };
const text = (changes: Record<string, unknown>) => JSON.stringify({ version: 1, instanceId: 'i-1', allocations: [{ ...allocation, ...changes }], cooldowns: [] });

it('reads a sound checkpoint', () => {
  expect(decodeCheckpoint(text({}), 'x').allocations).toEqual([allocation]);
});

it.each([
  [{ address: '10.0.0:5' }, 'allocations[0].address: "10.0.0:5" is not an IPv4 address'],
  [{ netns: 'run/netns/a' }, 'allocations[0].netns: "run/netns/a" is not an absolute path'],
  [{ hostVeth: 'eni 01' }, 'allocations[0].hostVeth: "eni 01" is not a link name'],
  [{ hostVeth: 'eni0123456789abcdef' }, 'is not a link name'],
  [{ containerId: '' }, 'allocations[0].containerId: empty'],
])('a record the daemon would act wrongly on (%j) makes the file damaged: %s', (changes, message) => {
  let error: unknown;
  try {
    decodeCheckpoint(text(changes), 'x');
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(CheckpointError);
  expect((error as CheckpointError).damaged).toBe(true);
  expect((error as Error).message).toContain(message);
});

it.each([[undefined], ['1'], [0], [1.5]])('a version that is not one (%j) is damage, rebuilt from the other records', (version) => {
  let error: unknown;
  try {
    decodeCheckpoint(JSON.stringify({ version, instanceId: 'i-1', allocations: [], cooldowns: [] }), 'x');
  } catch (caught) {
    error = caught;
  }
  expect((error as CheckpointError).damaged).toBe(true);
});

it('a newer daemon\'s version is refused and not damage: the file is left in place', () => {
  expect(() => decodeCheckpoint(JSON.stringify({ version: 2, instanceId: 'i-1', allocations: [], cooldowns: [] }), 'x')).toThrow(/version 2 is not supported/);
  try {
    decodeCheckpoint(JSON.stringify({ version: 2, instanceId: 'i-1', allocations: [], cooldowns: [] }), 'x');
  } catch (caught) {
    expect((caught as CheckpointError).damaged).toBe(false);
  }
});

it('a signed checkpoint reads back; one character changed anywhere in it makes it damaged, even where the record still validates', () => {
  const data = { version: 1, instanceId: 'i-1', allocations: [allocation], cooldowns: [{ address: '10.0.0.9', untilMs: 5 }], providerState: { pending: ['é', 1.5] } };
  const signed = signCheckpoint(data);
  expect(decodeCheckpoint(signed, 'x')).toEqual(data);
  expect(signCheckpoint(JSON.parse(signed) as Record<string, unknown>)).toBe(signed);
  for (const [from, to] of [['"containerId":"a"', '"containerId":"b"'], ['"ifName":"eth0"', '"ifName":"eth1"'], ['"untilMs":5', '"untilMs":6'], ['"checksum":"sha256:', '"checksum":"sha256:0']]) {
    const changed = signed.replace(from!, to!);
    expect(changed).not.toBe(signed);
    expect(() => decodeCheckpoint(changed, 'x')).toThrow(expect.objectContaining({ damaged: true, message: expect.stringContaining('checksum does not match') }));
  }
  // A file written before checksums is read as it is.
  expect(decodeCheckpoint(text({}), 'x').allocations).toEqual([allocation]);
});
