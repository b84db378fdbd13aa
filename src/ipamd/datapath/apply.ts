/**
 * Executes plans over netlink. Requests on one socket are pipelined: all are sent at once and the
 * kernel handles them in order, so a pod costs about one round trip per namespace after the veth
 * exists. The host and pod namespaces proceed concurrently.
 */
import { closeSync } from 'node:fs';
import { DatapathError } from './types.js';
import { describe, type PlanObject, type RuleObject, type Side, type VethObject } from './plan.js';
import { describeFailure, errnoOf, isAbsent } from './errno.js';
import { openNetns, withNetns } from './netns.js';
import type { DatapathLogger } from './logger.js';
import {
  addAddress,
  addNeighbour,
  addRoute,
  addRule,
  closeSocket,
  createVeth,
  deleteLinkByName,
  deleteRoute,
  deleteRule,
  getLinkByName,
  openSocket,
  setLinkUp,
  type CreateMode,
  type RtNetlinkSocket,
} from './rtnl.js';

type Outcome = { readonly obj: PlanObject; readonly ok: true } | { readonly obj: PlanObject; readonly ok: false; readonly err: unknown };

/** Link indexes by name within one namespace. */
type Indexes = ReadonlyMap<string, number>;

function indexOf(indexes: Indexes, side: Side, dev: string): number {
  const index = indexes.get(dev);
  if (index === undefined) throw new Error(`${side} link ${dev} is not known to this plan`);
  return index;
}

/** Sends the request for one object. Resolves when the kernel acknowledges it. */
async function createObject(sock: RtNetlinkSocket, obj: PlanObject, indexes: Indexes, mode: CreateMode): Promise<void> {
  switch (obj.kind) {
    case 'link-up':
      return setLinkUp(sock, indexOf(indexes, obj.side, obj.dev), obj.mtu);
    case 'address':
      return addAddress(sock, indexOf(indexes, obj.side, obj.dev), obj.address, obj.prefixLen, mode);
    case 'route':
      return addRoute(sock, obj, indexOf(indexes, obj.side, obj.dev), mode);
    case 'neighbour':
      return addNeighbour(sock, indexOf(indexes, obj.side, obj.dev), obj.address, obj.lladdr);
    case 'rule':
      try {
        return await addRule(sock, obj);
      } catch (err) {
        // Rules have no replace; for an idempotent apply the same rule already present is success.
        if (mode === 'replace' && errnoOf(err) === 'EEXIST') return;
        throw err;
      }
    case 'veth':
      throw new Error('a veth is created by applyPodPlan, not in a pipeline');
  }
}

/** Sends every step at once (in order) and waits for all acknowledgements. */
function pipeline(sock: RtNetlinkSocket, steps: readonly PlanObject[], indexes: Indexes, mode: CreateMode): Promise<Outcome[]> {
  return Promise.all(
    steps.map((obj) =>
      createObject(sock, obj, indexes, mode).then(
        (): Outcome => ({ obj, ok: true }),
        (err: unknown): Outcome => ({ obj, ok: false, err }),
      ),
    ),
  );
}

function firstFailure(plan: readonly PlanObject[], outcomes: readonly Outcome[]): Outcome | undefined {
  const failed = outcomes.filter((o) => !o.ok);
  return failed.sort((a, b) => plan.indexOf(a.obj) - plan.indexOf(b.obj))[0];
}

function stepError(obj: PlanObject, err: unknown): DatapathError {
  return new DatapathError(`add ${describe(obj)}`, describeFailure(err), { cause: err });
}

/** Undoes one created host-side object; pod-side objects vanish with the veth. */
async function undo(host: RtNetlinkSocket, obj: PlanObject, hostIndex: number | undefined): Promise<void> {
  switch (obj.kind) {
    case 'veth':
      return deleteLinkByName(host, obj.hostName);
    case 'route':
      return deleteRoute(host, obj, hostIndex === undefined ? { ours: true } : { oif: hostIndex });
    case 'rule':
      return deleteRule(host, obj);
    default:
      return;
  }
}

/** Deletes what was created, newest first; returns descriptions of what could not be removed. */
async function rollback(host: RtNetlinkSocket, created: readonly PlanObject[], hostIndex: number | undefined, logger: DatapathLogger): Promise<string[]> {
  const undoable = created.filter((o) => o.side === 'host').reverse();
  const results = await Promise.all(
    undoable.map((obj) =>
      undo(host, obj, hostIndex).then(
        () => undefined,
        (err: unknown) => (isAbsent(err) ? undefined : `${describe(obj)}: ${describeFailure(err)}`),
      ),
    ),
  );
  const left = results.filter((r): r is string => r !== undefined);
  if (left.length > 0) logger.warn({ undone: undoable.map(describe), left }, 'pod datapath rollback incomplete');
  else if (undoable.length > 0) logger.debug({ undone: undoable.map(describe) }, 'rolled back pod datapath');
  return left;
}

/** The message without its `<step>: ` prefix. */
function reasonOf(err: DatapathError): string {
  const prefix = `${err.step}: `;
  return err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
}

function podNetnsError(path: string, err: unknown): DatapathError {
  return new DatapathError(`enter pod netns ${path}`, err instanceof Error ? err.message : String(err), { cause: err });
}

/**
 * Creates everything in a pod plan (which starts with its veth). On failure removes what it
 * created, then throws a DatapathError whose step names the object that failed.
 */
export async function applyPodPlan(host: RtNetlinkSocket, plan: readonly PlanObject[], logger: DatapathLogger): Promise<void> {
  const veth = plan[0];
  if (veth?.kind !== 'veth') throw new DatapathError('plan', 'a pod plan must start with its veth');
  let pod: RtNetlinkSocket;
  let podNsFd: number;
  try {
    podNsFd = openNetns(veth.netnsPath);
    try {
      pod = withNetns(veth.netnsPath, openSocket);
    } catch (err) {
      closeSync(podNsFd);
      throw err;
    }
  } catch (err) {
    throw podNetnsError(veth.netnsPath, err);
  }
  const created: PlanObject[] = [];
  let hostIndex: number | undefined;
  try {
    hostIndex = await createVethStep(host, veth, podNsFd);
    created.push(veth);
    const podLink = await getLinkByName(pod, veth.podIfName).catch((err: unknown) => {
      throw new DatapathError(`find pod link ${veth.podIfName}`, describeFailure(err), { cause: err });
    });
    if (!podLink) throw new DatapathError(`find pod link ${veth.podIfName}`, `not found in ${veth.netnsPath} after creating the veth`);
    const steps = plan.slice(1);
    const [hostOutcomes, podOutcomes] = await Promise.all([
      pipeline(host, steps.filter((o) => o.side === 'host'), new Map([[veth.hostName, hostIndex]]), 'exclusive'),
      pipeline(pod, steps.filter((o) => o.side === 'pod'), new Map([[veth.podIfName, podLink.index]]), 'exclusive'),
    ]);
    for (const o of hostOutcomes) if (o.ok) created.push(o.obj);
    const failure = firstFailure(plan, [...hostOutcomes, ...podOutcomes]);
    if (failure && !failure.ok) throw stepError(failure.obj, failure.err);
  } catch (err) {
    const left = await rollback(host, created, hostIndex, logger);
    const base = err instanceof DatapathError ? err : new DatapathError('add pod', describeFailure(err), { cause: err });
    if (left.length === 0) throw base;
    throw new DatapathError(base.step, `${reasonOf(base)}; rollback left behind: ${left.join('; ')}`, { cause: base.cause });
  } finally {
    closeSync(podNsFd);
    closeSocket(pod);
  }
}

async function createVethStep(host: RtNetlinkSocket, veth: VethObject, podNsFd: number): Promise<number> {
  try {
    return await createVeth(host, veth, podNsFd);
  } catch (err) {
    const code = errnoOf(err);
    const why = code === 'EEXIST' ? `EEXIST (a link named ${veth.hostName} or ${veth.podIfName} in the pod already exists)` : describeFailure(err);
    throw new DatapathError(`create ${describe(veth)}`, why, { cause: err });
  }
}

/**
 * Applies an interface plan idempotently (replace semantics; an existing rule is success).
 * Throws a DatapathError for the first object that failed. Nothing is rolled back: a retry
 * converges.
 */
export async function applyHostPlan(host: RtNetlinkSocket, plan: readonly PlanObject[], indexes: Indexes): Promise<void> {
  const outcomes = await pipeline(host, plan, indexes, 'replace');
  const failure = firstFailure(plan, outcomes);
  if (failure && !failure.ok) throw stepError(failure.obj, failure.err);
}

/** One idempotent delete: `what` names the object in errors. */
export interface Removal {
  readonly what: string;
  readonly run: () => Promise<void>;
}

/**
 * Runs every delete at once; objects already absent are fine. Throws a DatapathError for the
 * first other failure, after every delete has been attempted.
 */
export async function removeAll(removals: readonly Removal[]): Promise<void> {
  const results = await Promise.all(
    removals.map((r) =>
      r.run().then(
        () => undefined,
        (err: unknown) => (isAbsent(err) ? undefined : { what: r.what, err }),
      ),
    ),
  );
  const failed = results.find((r) => r !== undefined);
  if (failed) throw new DatapathError(`delete ${failed.what}`, describeFailure(failed.err), { cause: failed.err });
}

/** Most rules one selector may match: a pod has one from-rule per destination CIDR. */
const MAX_MATCHING_RULES = 256;

/**
 * Deletes rules matching `rule` until none is left: the kernel removes one match per request, and
 * a selector without a destination matches a rule with any destination. Resolves when none matched.
 */
export async function deleteMatchingRules(host: RtNetlinkSocket, rule: RuleObject): Promise<void> {
  for (let deleted = 0; deleted < MAX_MATCHING_RULES; deleted += 1) {
    try {
      await deleteRule(host, rule);
    } catch (err) {
      if (isAbsent(err)) return;
      throw err;
    }
  }
  throw new Error(`more than ${MAX_MATCHING_RULES} rules match ${describe(rule)}`);
}
