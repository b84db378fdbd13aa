import { describe, expect, it } from 'vitest';
import type { EniRecord } from '../../src/providers/aws/ec2-records.js';
import { leakCandidates, ownerGone, whyKept, type LeakScope } from '../../src/providers/aws/leaked-enis.js';

const NOW = Date.parse('2026-11-22T12:00:00Z');
const scope: LeakScope = { instanceId: 'i-0000000000000000a', clusterName: 'prod', nowMs: NOW, graceMs: 5 * 60_000 };
const OLD = new Date(NOW - 10 * 60_000).toISOString();

function eni(id: string, tags: Record<string, string>, extra: Partial<EniRecord> = {}): EniRecord {
  return {
    id,
    mac: '02:00:00:00:00:01',
    subnetId: 'subnet-1',
    primaryIp: '10.0.0.9',
    secondaryIps: [],
    prefixes: [],
    status: 'available',
    attachment: undefined,
    tags: new Map(Object.entries(tags)),
    ...extra,
  };
}

const ours = (owner: string, extra: Record<string, string> = {}) => ({
  'nativeip.io/managed': 'true',
  'node.k8s.amazonaws.com/instance_id': owner,
  'node.k8s.amazonaws.com/createdAt': OLD,
  'cluster.k8s.amazonaws.com/name': 'prod',
  ...extra,
});

/** Tags the AWS VPC CNI puts on the ENIs it creates: the same owner, time and cluster tags, not nativeip's. */
const vpcCni = (owner: string, extra: Record<string, string> = {}) => {
  const tags: Record<string, string> = { ...ours(owner), ...extra };
  delete tags['nativeip.io/managed'];
  return tags;
};

describe('leaked ENI selection', () => {
  it.each([
    ['ours, old, this node', eni('eni-1', ours(scope.instanceId)), undefined],
    ['ours, old, another node', eni('eni-2', ours('i-0000000000000000b')), undefined],
    ['attached', eni('eni-3', ours(scope.instanceId), { status: 'in-use' }), 'status in-use'],
    ['untagged', eni('eni-4', {}), 'not tagged'],
    ['no_manage', eni('eni-5', ours(scope.instanceId, { 'node.k8s.amazonaws.com/no_manage': 'true' })), 'no_manage=true'],
    ['young', eni('eni-6', ours(scope.instanceId, { 'node.k8s.amazonaws.com/createdAt': new Date(NOW - 60_000).toISOString() })), 'younger'],
    ['unreadable createdAt', eni('eni-7', ours(scope.instanceId, { 'node.k8s.amazonaws.com/createdAt': 'yesterday' })), 'createdAt'],
    ['another cluster', eni('eni-8', ours(scope.instanceId, { 'cluster.k8s.amazonaws.com/name': 'dev' })), 'another cluster'],
    ['no owner tag', eni('eni-9', { 'nativeip.io/managed': 'true', 'node.k8s.amazonaws.com/createdAt': OLD }), 'instance_id'],
    ['the AWS VPC CNI’s, old, this node', eni('eni-10', vpcCni(scope.instanceId)), undefined],
    ['the AWS VPC CNI’s, young', eni('eni-11', vpcCni(scope.instanceId, { 'node.k8s.amazonaws.com/createdAt': new Date(NOW - 60_000).toISOString() })), 'younger'],
    ['the AWS VPC CNI’s, another cluster', eni('eni-12', vpcCni(scope.instanceId, { 'cluster.k8s.amazonaws.com/name': 'dev' })), 'another cluster'],
    ['the AWS VPC CNI’s, no_manage', eni('eni-13', vpcCni(scope.instanceId, { 'node.k8s.amazonaws.com/no_manage': 'true' })), 'no_manage=true'],
  ])('%s', (_name, candidate, reason) => {
    const kept = whyKept(candidate, scope);
    if (reason === undefined) expect(kept).toBeUndefined();
    else expect(kept).toContain(reason);
  });

  it('an unnamed cluster only claims ENIs without a cluster tag', () => {
    const unnamed = { ...scope, clusterName: undefined };
    expect(whyKept(eni('eni-1', ours(scope.instanceId)), unnamed)).toContain('another cluster');
    const bare: Record<string, string> = ours(scope.instanceId);
    delete bare['cluster.k8s.amazonaws.com/name'];
    expect(whyKept(eni('eni-2', bare), unnamed)).toBeUndefined();
  });

  it('an unnamed cluster never claims the AWS VPC CNI’s ENIs (they may be any cluster’s in the region)', () => {
    const unnamed = { ...scope, clusterName: undefined };
    const bare: Record<string, string> = vpcCni(scope.instanceId);
    delete bare['cluster.k8s.amazonaws.com/name'];
    expect(whyKept(eni('eni-3', bare), unnamed)).toContain('CLUSTER_NAME is unset');
  });

  it('splits candidates into this node’s and other owners’', () => {
    const result = leakCandidates(
      [eni('eni-1', ours(scope.instanceId)), eni('eni-2', ours('i-b')), eni('eni-3', ours('i-b')), eni('eni-4', {})],
      scope,
    );
    expect(result.own).toEqual(['eni-1']);
    expect([...result.byOwner]).toEqual([['i-b', ['eni-2', 'eni-3']]]);
  });

  it.each([
    [undefined, true],
    ['terminated', true],
    ['running', false],
    ['stopped', false],
    ['shutting-down', false],
  ])('owner state %s is gone: %s', (state, gone) => {
    expect(ownerGone(state)).toBe(gone);
  });
});
