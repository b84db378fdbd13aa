/**
 * The Node writes: the condition as a strategic-merge status patch (none when the Node already
 * says the same), the taint as a JSON patch guarded by the resourceVersion that leaves every
 * other owner's taint as it was. The JSON patches are applied here as the API server would
 * (RFC 6902 test/add/replace), so the tests check the Node that results, not the patch's wording.
 */
import type { V1Node, V1NodeCondition, V1Taint } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { NodeAvailability } from '../../src/core/node-availability.js';
import { conditionPatch, taintPatch } from '../../src/kube/node-patches.js';
import { CONDITION_TYPE, TAINT_EFFECT, TAINT_KEY } from '../../src/kube/names.js';

const available: NodeAvailability = { available: true, reason: 'AddressesAvailable', message: 'the pool has free addresses or can get more' };
const exhausted = (reason: 'InterfaceLimit' | 'SubnetFull' | 'MaxPods' | 'Throttled', taint = reason !== 'Throttled'): NodeAvailability => ({
  available: false,
  reason,
  message: `no free address: ${reason}`,
  ...(taint ? { taint: reason as 'InterfaceLimit' | 'SubnetFull' | 'MaxPods' } : {}),
});

const earlier = new Date('2025-01-01T00:00:00Z');
const now = new Date('2025-01-01T01:00:00Z');

function nodeWithCondition(condition: Partial<V1NodeCondition> | undefined, others: V1NodeCondition[] = []): V1Node {
  const conditions: V1NodeCondition[] = [...others, ...(condition === undefined ? [] : [{ type: CONDITION_TYPE, status: 'True', ...condition }])];
  return { metadata: { name: 'node-a', resourceVersion: '41' }, status: { conditions } };
}

/** The one condition a status patch carries. */
function patchedCondition(patch: object | undefined): V1NodeCondition {
  const conditions = (patch as { status: { conditions: V1NodeCondition[] } }).status.conditions;
  expect(conditions).toHaveLength(1);
  return conditions[0] as V1NodeCondition;
}

describe('conditionPatch', () => {
  it('writes the condition on a Node that has none (or no status at all)', () => {
    for (const node of [nodeWithCondition(undefined), { metadata: { name: 'node-a' } }, undefined]) {
      expect(patchedCondition(conditionPatch(node, exhausted('MaxPods'), now))).toEqual({
        type: CONDITION_TYPE,
        status: 'False',
        reason: 'MaxPods',
        message: 'no free address: MaxPods',
        lastHeartbeatTime: now,
        lastTransitionTime: now,
      });
    }
  });

  it.each<[string, Partial<V1NodeCondition>, NodeAvailability]>([
    ['True, available', { status: 'True', reason: available.reason, message: available.message }, available],
    ['False, the same reason and message', { status: 'False', reason: 'SubnetFull', message: 'no free address: SubnetFull' }, exhausted('SubnetFull')],
    ['False, the taint differs (the condition does not carry it)', { status: 'False', reason: 'SubnetFull', message: 'no free address: SubnetFull' }, exhausted('SubnetFull', false)],
  ])('no patch when the Node already says the same (%s)', (_name, current, availability) => {
    expect(conditionPatch(nodeWithCondition({ ...current, lastTransitionTime: earlier }), availability, now)).toBeUndefined();
  });

  it('keeps lastTransitionTime when the status is unchanged but the reason changes', () => {
    const node = nodeWithCondition({ status: 'False', reason: 'InterfaceLimit', message: 'no free address: InterfaceLimit', lastTransitionTime: earlier });
    const condition = patchedCondition(conditionPatch(node, exhausted('SubnetFull'), now));
    expect(condition).toMatchObject({ status: 'False', reason: 'SubnetFull', message: 'no free address: SubnetFull', lastHeartbeatTime: now });
    expect(condition.lastTransitionTime).toEqual(earlier);
  });

  it('keeps lastTransitionTime when only the message changes', () => {
    const node = nodeWithCondition({ status: 'False', reason: 'SubnetFull', message: 'older words', lastTransitionTime: earlier });
    expect(patchedCondition(conditionPatch(node, exhausted('SubnetFull'), now)).lastTransitionTime).toEqual(earlier);
  });

  it.each<[string, Partial<V1NodeCondition>, NodeAvailability, 'True' | 'False']>([
    ['True → False', { status: 'True', reason: available.reason, message: available.message }, exhausted('MaxPods'), 'False'],
    ['False → True', { status: 'False', reason: 'MaxPods', message: 'no free address: MaxPods' }, available, 'True'],
    ['Unknown → True', { status: 'Unknown', reason: 'NodeStatusUnknown', message: 'x' }, available, 'True'],
  ])('a new lastTransitionTime when the status flips (%s)', (_name, current, availability, status) => {
    const condition = patchedCondition(conditionPatch(nodeWithCondition({ ...current, lastTransitionTime: earlier }), availability, now));
    expect(condition.status).toBe(status);
    expect(condition.lastTransitionTime).toEqual(now);
  });

  it('a new lastTransitionTime when the Node has the same status but never set one', () => {
    const node = nodeWithCondition({ status: 'False', reason: 'InterfaceLimit', message: 'x' });
    expect(patchedCondition(conditionPatch(node, exhausted('SubnetFull'), now)).lastTransitionTime).toEqual(now);
  });

  it("looks only at nativeip's own condition type, and patches only it", () => {
    const ready: V1NodeCondition = { type: 'Ready', status: 'False', reason: 'MaxPods', message: 'no free address: MaxPods' };
    const patch = conditionPatch(nodeWithCondition(undefined, [ready]), exhausted('MaxPods'), now);
    expect(patchedCondition(patch).type).toBe(CONDITION_TYPE);
  });
});

type JsonPatchOp = { op: 'test' | 'add' | 'replace' | 'remove'; path: string; value?: unknown };

class PatchRejected extends Error {}

/** Applies an RFC 6902 patch to a copy of `doc` (object members only, as these patches use). */
function applyJsonPatch<T>(doc: T, ops: readonly object[]): T {
  const copy = structuredClone(doc) as Record<string, unknown>;
  for (const raw of ops) {
    const op = raw as JsonPatchOp;
    const keys = op.path.split('/').slice(1);
    const last = keys.pop();
    if (last === undefined) throw new PatchRejected(`bad path ${op.path}`);
    let parent: Record<string, unknown> = copy;
    for (const key of keys) {
      const next = parent[key];
      if (typeof next !== 'object' || next === null) throw new PatchRejected(`${op.path}: ${key} does not exist`);
      parent = next as Record<string, unknown>;
    }
    switch (op.op) {
      case 'test':
        if (JSON.stringify(parent[last]) !== JSON.stringify(op.value)) throw new PatchRejected(`test of ${op.path} failed`);
        break;
      case 'add':
        parent[last] = structuredClone(op.value);
        break;
      case 'replace':
        if (!(last in parent)) throw new PatchRejected(`replace of missing ${op.path}`);
        parent[last] = structuredClone(op.value);
        break;
      default:
        throw new PatchRejected(`unexpected op ${op.op}`);
    }
  }
  return copy as T;
}

const ours = (value: string): V1Taint => ({ key: TAINT_KEY, value, effect: TAINT_EFFECT });
const gpu: V1Taint = { key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' };
const unreachable: V1Taint = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: new Date('2025-01-01T00:00:00Z') };
const dedicated: V1Taint = { key: 'dedicated', value: 'batch', effect: 'PreferNoSchedule' };

/** `resourceVersion` null: a Node without one. */
function nodeWithTaints(taints: V1Taint[] | undefined, resourceVersion: string | null = '7'): V1Node {
  return {
    metadata: { name: 'node-a', ...(resourceVersion === null ? {} : { resourceVersion }) },
    spec: { podCIDR: '10.244.0.0/24', ...(taints === undefined ? {} : { taints }) },
  };
}

/** The Node after the patch, as the API server would store it. */
function patched(node: V1Node, availability: NodeAvailability): V1Node {
  const patch = taintPatch(node, availability);
  expect(patch).toBeDefined();
  return applyJsonPatch(node, patch ?? []);
}

describe('taintPatch', () => {
  it.each<[string, V1Taint[] | undefined, NodeAvailability, V1Taint[]]>([
    ['adds ours after the others', [gpu, unreachable], exhausted('MaxPods'), [gpu, unreachable, ours('MaxPods')]],
    ['adds ours to an empty list', [], exhausted('SubnetFull'), [ours('SubnetFull')]],
    ['adds the list when the spec has none', undefined, exhausted('InterfaceLimit'), [ours('InterfaceLimit')]],
    ['replaces the value, others untouched and in order', [gpu, ours('InterfaceLimit'), dedicated], exhausted('SubnetFull'), [gpu, dedicated, ours('SubnetFull')]],
    ['removes ours, others untouched and in order', [dedicated, ours('MaxPods'), unreachable, gpu], available, [dedicated, unreachable, gpu]],
    ['removes ours when a non-lasting reason carries no taint', [ours('MaxPods')], exhausted('Throttled'), []],
    ['replaces ours with another effect (someone edited it)', [{ ...ours('MaxPods'), effect: 'NoExecute' }, gpu], exhausted('MaxPods'), [gpu, ours('MaxPods')]],
    ['collapses duplicates of ours into one', [ours('MaxPods'), gpu, ours('MaxPods')], exhausted('MaxPods'), [gpu, ours('MaxPods')]],
  ])('%s', (_name, taints, availability, expected) => {
    const before = nodeWithTaints(taints);
    const after = patched(before, availability);
    expect(after.spec?.taints).toEqual(expected);
    expect(after.spec?.podCIDR).toBe('10.244.0.0/24');
    expect(after.metadata).toEqual(before.metadata);
  });

  it('leaves other taints exactly as they were, field for field', () => {
    const others = [gpu, unreachable, dedicated];
    const after = patched(nodeWithTaints([...others]), exhausted('MaxPods'));
    expect(after.spec?.taints?.slice(0, 3)).toStrictEqual(others);
  });

  it.each<[string, V1Taint[] | undefined, NodeAvailability]>([
    ['ours already there with the same value', [gpu, ours('MaxPods')], exhausted('MaxPods')],
    ['ours already there, in the middle', [gpu, ours('SubnetFull'), dedicated], exhausted('SubnetFull')],
    ['no taint wanted and none there', [gpu], available],
    ['no taint wanted and no list at all', undefined, available],
  ])('no patch when nothing changes (%s)', (_name, taints, availability) => {
    expect(taintPatch(nodeWithTaints(taints), availability)).toBeUndefined();
  });

  it('a Node with no spec at all: no patch when none is wanted', () => {
    expect(taintPatch({ metadata: { name: 'node-a', resourceVersion: '3' } }, available)).toBeUndefined();
  });

  it('a Node with no spec at all gains a spec with our taint', () => {
    const node: V1Node = { metadata: { name: 'node-a', resourceVersion: '3' } };
    expect(patched(node, exhausted('MaxPods')).spec).toEqual({ taints: [ours('MaxPods')] });
  });

  it.each<[string, V1Taint[] | undefined]>([
    ['a replace', [gpu]],
    ['an add of the list', undefined],
  ])('guards %s with a test of the resourceVersion it was worked out from', (_name, taints) => {
    const node = nodeWithTaints(taints, '7');
    const patch = taintPatch(node, exhausted('MaxPods')) ?? [];
    expect(patch[0]).toEqual({ op: 'test', path: '/metadata/resourceVersion', value: '7' });
    // Someone else wrote the Node meanwhile: the server refuses the patch instead of dropping their taint.
    const moved: V1Node = { metadata: { name: 'node-a', resourceVersion: '8' }, spec: { taints: [...(taints ?? []), dedicated] } };
    expect(() => applyJsonPatch(moved, patch)).toThrow(PatchRejected);
  });

  it('without a resourceVersion there is nothing to guard with, and the patch still applies', () => {
    const node = nodeWithTaints([gpu], null);
    const patch = taintPatch(node, exhausted('MaxPods')) ?? [];
    expect(patch.some((op) => (op as JsonPatchOp).op === 'test')).toBe(false);
    expect(applyJsonPatch(node, patch).spec?.taints).toEqual([gpu, ours('MaxPods')]);
  });

  it('does not change the Node it was given', () => {
    const node = nodeWithTaints([gpu, ours('InterfaceLimit')]);
    const before = structuredClone(node);
    taintPatch(node, available);
    expect(node).toEqual(before);
  });
});
