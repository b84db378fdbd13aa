/**
 * Applies host-rule plans (host-rules.ts) over rtnetlink: the node-port rule and the rewrite of
 * existing pods' `from` rules. A rewrite reads the rules, plans, applies, and reads again until
 * nothing differs (at most three passes), so a rule changed meanwhile by someone else is caught.
 */
import { DatapathError, type PodFromRuleSpec } from './types.js';
import { planFromRuleRewrite, planNodePortRule, rewritePhases, type HostPodRoutes } from './host-rules.js';
import type { KernelRule } from './kernel-state.js';
import { describe, type RuleObject } from './plan.js';
import { describeFailure, errnoOf, isAbsent } from './errno.js';
import { addRule, deleteRule, type RtNetlinkSocket } from './rtnl.js';

/** Where host rules are read and changed. */
export interface HostRuleAccess {
  /** Socket for adds and deletes. */
  readonly sock: RtNetlinkSocket;
  /** Dumps the host's IPv4 rules (serialised with other dumps by the caller). */
  readonly readRules: () => Promise<KernelRule[]>;
  /** The addresses the host routes to a pod (see HostPodRoutes), read with a dump likewise. */
  readonly readRoutedPods: () => Promise<ReadonlySet<string>>;
}

/** Passes before a rewrite that still finds differences gives up. */
const MAX_PASSES = 3;

async function readRules(access: HostRuleAccess): Promise<KernelRule[]> {
  try {
    return await access.readRules();
  } catch (err) {
    throw new DatapathError('read host rules', describeFailure(err), { cause: err });
  }
}

async function readRoutedPods(access: HostRuleAccess): Promise<HostPodRoutes> {
  try {
    return { routed: await access.readRoutedPods() };
  } catch (err) {
    throw new DatapathError('read host routes', describeFailure(err), { cause: err });
  }
}

async function add(sock: RtNetlinkSocket, rule: RuleObject): Promise<void> {
  try {
    await addRule(sock, rule);
  } catch (err) {
    if (errnoOf(err) === 'EEXIST') return;
    throw new DatapathError(`add ${describe(rule)}`, describeFailure(err), { cause: err });
  }
}

async function remove(sock: RtNetlinkSocket, rule: RuleObject): Promise<void> {
  try {
    await deleteRule(sock, rule);
  } catch (err) {
    if (isAbsent(err)) return;
    throw new DatapathError(`delete ${describe(rule)}`, describeFailure(err), { cause: err });
  }
}

/** One at a time, in order: the kernel's choice of which rule a delete removes depends on it. */
async function inOrder(sock: RtNetlinkSocket, rules: readonly RuleObject[], step: (sock: RtNetlinkSocket, rule: RuleObject) => Promise<void>): Promise<void> {
  for (const rule of rules) await step(sock, rule);
}

/** See Datapath.syncNodePortRule. Returns descriptions of the rules added and removed. */
export async function syncNodePortRule(access: HostRuleAccess, mark: number | undefined): Promise<string[]> {
  let changes;
  try {
    changes = planNodePortRule(await readRules(access), mark);
  } catch (err) {
    if (err instanceof DatapathError) throw err;
    throw new DatapathError('plan node-port rule', describeFailure(err), { cause: err });
  }
  await inOrder(access.sock, changes.add, add);
  await inOrder(access.sock, changes.remove, remove);
  return [...changes.add.map((r) => `added ${describe(r)}`), ...changes.remove.map((r) => `removed ${describe(r)}`)];
}

/** See Datapath.rewritePodFromRules. Returns how many pods' rules differed on the first pass. */
export async function rewritePodFromRules(access: HostRuleAccess, pods: () => readonly PodFromRuleSpec[]): Promise<number> {
  let rewritten: number | undefined;
  for (let pass = 0; pass < MAX_PASSES; pass += 1) {
    const rules = await readRules(access);
    const host = await readRoutedPods(access);
    let plan;
    try {
      plan = planFromRuleRewrite(rules, pods(), host);
    } catch (err) {
      throw new DatapathError('plan pod from-rules', describeFailure(err), { cause: err });
    }
    rewritten ??= plan.length;
    if (plan.length === 0) return rewritten;
    const phases = rewritePhases(plan);
    await inOrder(access.sock, phases.addFirst, add);
    await inOrder(access.sock, phases.remove, remove);
    await inOrder(access.sock, phases.addLast, add);
  }
  const after = planFromRuleRewrite(await readRules(access), pods(), await readRoutedPods(access));
  if (after.length === 0) return rewritten ?? 0;
  const left = after.flatMap((p) => [...p.add.map((r) => `${describe(r)} missing`), ...p.remove.map((r) => `${describe(r)} still there`)]);
  throw new DatapathError('rewrite pod from-rules', `still different after ${MAX_PASSES} passes: ${left.join('; ')}`);
}
