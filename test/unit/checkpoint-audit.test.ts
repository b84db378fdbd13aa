import { expect, it } from 'vitest';
import { auditCheckpoint } from '../../src/ipamd/checkpoint/checkpoint-audit.js';
import type { CheckpointAllocation } from '../../src/ipamd/checkpoint/checkpoint.js';

const allocation = (id: string, address: string, assignedAtMs: number): CheckpointAllocation => ({
  networkName: 'nativeip',
  containerId: id,
  ifName: 'eth0',
  address,
  interfaceId: 'eni-1',
  netns: `/run/netns/${id}`,
  hostVeth: `eni${id}`,
  assignedAtMs,
});
const everywhere = () => true;

it('keeps a checkpoint without duplicates or strangers as it is', () => {
  const all = [allocation('a', '10.0.0.5', 1), allocation('b', '10.0.0.6', 2)];
  expect(auditCheckpoint(all, [], everywhere)).toEqual({ kept: all, stranded: [], findings: [] });
});

it('gives a doubled address to the pod the kernel routes it to, whatever its age', () => {
  const older = allocation('a', '10.0.0.5', 1);
  const newer = allocation('b', '10.0.0.5', 2);
  const audit = auditCheckpoint([newer, older], [{ address: '10.0.0.5', hostVeth: 'enia' }], everywhere);
  expect(audit.kept).toEqual([older]);
  expect(audit.findings).toEqual([
    // b's record is the kernel's to contradict before the two are compared: 10.0.0.5 goes over a's veth.
    expect.objectContaining({ kind: 'address-contradicted', containerId: 'b', address: '10.0.0.5', detail: expect.stringContaining('the kernel routes 10.0.0.5 over enia, not over its host veth enib') }),
  ]);
});

it('without the kernel saying, the most recent assignment keeps a doubled address', () => {
  const audit = auditCheckpoint([allocation('a', '10.0.0.5', 1), allocation('b', '10.0.0.5', 3), allocation('c', '10.0.0.5', 2)], undefined, everywhere);
  expect(audit.kept.map((a) => a.containerId)).toEqual(['b']);
  expect(audit.findings.map((f) => f.containerId).sort()).toEqual(['a', 'c']);
});

it('keeps an address the node no longer has, marked stranded and reported', () => {
  const lost = allocation('a', '10.0.0.99', 1);
  const audit = auditCheckpoint([lost, allocation('b', '10.0.0.6', 2)], [], (address) => address !== '10.0.0.99');
  expect(audit.kept).toHaveLength(2);
  expect(audit.stranded).toEqual([lost]);
  expect(audit.findings).toEqual([expect.objectContaining({ kind: 'address-not-on-node', containerId: 'a', address: '10.0.0.99' })]);
});

it('one pod interface in two allocations: the one the kernel backs keeps its address, the other is dropped and reported', () => {
  const routed = allocation('a', '10.0.0.5', 1);
  const stale = { ...allocation('a', '10.0.0.6', 2) };
  const audit = auditCheckpoint([stale, routed], [{ address: '10.0.0.5', hostVeth: 'enia' }], everywhere);
  expect(audit.kept).toEqual([routed]);
  expect(audit.findings).toEqual([
    expect.objectContaining({ kind: 'duplicate-key', containerId: 'a', address: '10.0.0.6', detail: expect.stringContaining('kept 10.0.0.5: the kernel routes 10.0.0.5 to its veth enia') }),
  ]);
  // Without the kernel's word, the latest assignment.
  expect(auditCheckpoint([stale, routed], undefined, everywhere).kept).toEqual([stale]);
});

it('drops a record whose host veth the kernel routes another address over: a doubled address goes to its real holder', () => {
  // Pod a's DEL removed its network before the kill; the damage gave a's address to live pod b too.
  const gone = allocation('a', '10.0.0.5', 1);
  const wrong = allocation('b', '10.0.0.5', 2);
  const audit = auditCheckpoint([gone, wrong], [{ address: '10.0.0.11', hostVeth: 'enib' }], everywhere);
  expect(audit.kept).toEqual([gone]);
  expect(audit.findings).toEqual([
    expect.objectContaining({ kind: 'address-contradicted', containerId: 'b', address: '10.0.0.5', detail: expect.stringContaining('the kernel routes 10.0.0.11 over its host veth enib, not 10.0.0.5') }),
  ]);
  // A garbled but valid address, doubled or not, is the same: the kernel says what b has.
  expect(auditCheckpoint([allocation('b', '10.0.0.7', 2)], [{ address: '10.0.0.11', hostVeth: 'enib' }], everywhere).kept).toEqual([]);
  // Without the kernel's word (unreadable, or b's network gone), nothing contradicts the record.
  expect(auditCheckpoint([gone, wrong], undefined, everywhere).kept).toEqual([wrong]);
  expect(auditCheckpoint([gone, wrong], [], everywhere).kept).toEqual([wrong]);
});

it('drops a record whose address the kernel routes over another veth (a changed veth name): the pod\'s real veth is no leftover', () => {
  const renamed = { ...allocation('a', '10.0.0.5', 1), hostVeth: 'enia2' };
  const audit = auditCheckpoint([renamed, allocation('b', '10.0.0.6', 2)], [{ address: '10.0.0.5', hostVeth: 'enia' }], everywhere);
  expect(audit.kept.map((a) => a.containerId)).toEqual(['b']);
  expect(audit.findings).toEqual([
    expect.objectContaining({ kind: 'address-contradicted', containerId: 'a', detail: expect.stringContaining('the kernel routes 10.0.0.5 over enia, not over its host veth enia2') }),
  ]);
});
