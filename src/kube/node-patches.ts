/**
 * The Node writes nativeip makes, worked out from the Node as last seen: the condition (a
 * strategic-merge patch of nodes/status, where conditions merge by type) and the taint (a JSON
 * patch of spec.taints guarded by the resourceVersion, since taints have no merge key and a plain
 * merge would replace other owners' taints). Pure: nothing here talks to the API.
 */
import type { V1Node, V1NodeCondition, V1Taint } from '@kubernetes/client-node';
import type { NodeAvailability } from '../core/node-availability.js';
import { CONDITION_TYPE, TAINT_EFFECT, TAINT_KEY } from './names.js';

/** The status patch for the condition, or undefined when the Node already says the same. */
export function conditionPatch(node: V1Node | undefined, availability: NodeAvailability, now: Date): object | undefined {
  const status = availability.available ? 'True' : 'False';
  const current = node?.status?.conditions?.find((c) => c.type === CONDITION_TYPE);
  if (current !== undefined && current.status === status && current.reason === availability.reason && current.message === availability.message) return undefined;
  const transition = current !== undefined && current.status === status && current.lastTransitionTime !== undefined ? current.lastTransitionTime : now;
  const condition: V1NodeCondition = {
    type: CONDITION_TYPE,
    status,
    reason: availability.reason,
    message: availability.message,
    lastHeartbeatTime: now,
    lastTransitionTime: transition,
  };
  return { status: { conditions: [condition] } };
}

/**
 * The JSON patch that makes the Node's taints carry ours as `availability` wants (added, value
 * changed, or removed) and leaves every other taint as it is; undefined when nothing changes.
 */
export function taintPatch(node: V1Node, availability: NodeAvailability): object[] | undefined {
  const taints = node.spec?.taints ?? [];
  const ours = taints.filter((t) => t.key === TAINT_KEY);
  const others = taints.filter((t) => t.key !== TAINT_KEY);
  const wanted: V1Taint[] = availability.taint === undefined ? [] : [{ key: TAINT_KEY, value: availability.taint, effect: TAINT_EFFECT }];
  const same = ours.length === wanted.length && ours.every((t, i) => t.value === wanted[i]?.value && t.effect === wanted[i]?.effect);
  if (same) return undefined;
  const resourceVersion = node.metadata?.resourceVersion;
  const guard = resourceVersion === undefined ? [] : [{ op: 'test', path: '/metadata/resourceVersion', value: resourceVersion }];
  const next = [...others, ...wanted];
  if (node.spec?.taints === undefined) return [...guard, ...(node.spec === undefined ? [{ op: 'add', path: '/spec', value: {} }] : []), { op: 'add', path: '/spec/taints', value: next }];
  return [...guard, { op: 'replace', path: '/spec/taints', value: next }];
}
