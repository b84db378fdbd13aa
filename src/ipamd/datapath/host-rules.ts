/**
 * Pure planning of host policy rules that outlive single ADDs: the node-port rule
 * (`fwmark <mark>/<mark> lookup main`, see node-port.ts) and the rewrite of existing pods' `from`
 * rules after the SNAT mode or the VPC CIDRs changed. No I/O; host-rules-netlink.ts applies.
 */
import { FR_ACT_TO_TBL, type KernelRule } from './kernel-state.js';
import { MAIN_TABLE, fromPodRules, type RuleObject } from './plan.js';
import { RULE_PRIORITY_FROM_POD, RULE_PRIORITY_NODE_PORT, type PodFromRuleSpec } from './types.js';
import { ipv4ToBytes } from '../../core/ipv4.js';

/** Largest firewall mark: marks are 32-bit. */
const MAX_MARK = 0xffffffff;

/** `fwmark <mark>/<mark> lookup main` at the node-port priority. Throws a RangeError on a bad mark. */
export function nodePortRule(mark: number): RuleObject {
  if (!Number.isInteger(mark) || mark < 1 || mark > MAX_MARK) throw new RangeError(`invalid connection mark ${mark}: an integer from 1 to 0xffffffff`);
  return { kind: 'rule', side: 'host', priority: RULE_PRIORITY_NODE_PORT, table: MAIN_TABLE, fwmark: { value: mark, mask: mark } };
}

/** A rule of the node-port shape: priority 1024, main table, a mark matched under itself, nothing else. */
function isNodePortShape(rule: KernelRule): boolean {
  return (
    rule.priority === RULE_PRIORITY_NODE_PORT &&
    rule.action === FR_ACT_TO_TBL &&
    rule.table === MAIN_TABLE &&
    rule.src === undefined &&
    rule.dst === undefined &&
    rule.fwmark !== undefined &&
    rule.fwmark.value === rule.fwmark.mask
  );
}

function asRuleObject(rule: KernelRule): RuleObject {
  return {
    kind: 'rule',
    side: 'host',
    priority: rule.priority,
    table: rule.table,
    ...(rule.src === undefined ? {} : { src: rule.src }),
    ...(rule.dst === undefined ? {} : { dst: rule.dst }),
    ...(rule.fwmark === undefined ? {} : { fwmark: rule.fwmark }),
  };
}

/** What to add and remove so that the host has exactly the wanted rules. */
export interface RuleChanges {
  readonly add: readonly RuleObject[];
  readonly remove: readonly RuleObject[];
}

/**
 * The node-port rule for `mark`, or none when `mark` is undefined. A node-port-shaped rule with
 * another mark (a changed AWS_VPC_K8S_CNI_CONNMARK) is removed; no other rule is looked at.
 */
export function planNodePortRule(rules: readonly KernelRule[], mark: number | undefined): RuleChanges {
  const wanted = mark === undefined ? undefined : nodePortRule(mark);
  const present = rules.filter(isNodePortShape);
  const remove = present.filter((r) => r.fwmark?.value !== mark).map(asRuleObject);
  const add = wanted !== undefined && !present.some((r) => r.fwmark?.value === mark) ? [wanted] : [];
  return { add, remove };
}

function sameCidr(a: RuleObject['dst'], b: RuleObject['dst']): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.address === b.address && a.prefixLen === b.prefixLen;
}

function sameFromRule(a: Pick<RuleObject, 'table' | 'dst'>, b: Pick<RuleObject, 'table' | 'dst'>): boolean {
  return a.table === b.table && sameCidr(a.dst, b.dst);
}

/** One pod whose `from` rules differ from the form planPod gives it now. */
export interface FromRuleRewrite extends RuleChanges {
  readonly address: string;
}

/** What the host shows besides its rules. */
export interface HostPodRoutes {
  /** Addresses the host routes to a pod: our `<address>/32` routes in the main table (see planPod). */
  readonly routed: ReadonlySet<string>;
}

/**
 * For each pod, the `from <address>/32` rules at the from-pod priority that planPod would create
 * now (`from <pod> lookup <table>`, or one `from <pod> to <cidr> lookup <table>` per destination,
 * none on the primary interface), compared with those the host has. Only rules of the given
 * addresses at that priority are considered; pods already in the current form are left out.
 *
 * A pod whose address the host does not route (`host.routed`) gets no rule added, only its rules
 * of another form removed: without its route the pod has no network for a rule to serve (its ADD
 * never got that far), or its record names an address that is not its own (a damaged checkpoint
 * that gave it another pod's address); a rule added then would be one of an address no pod uses,
 * kept by every leftover sweep for as long as the record lives (found by the crash campaign).
 * Throws a RangeError on an invalid address, table or CIDR.
 */
export function planFromRuleRewrite(rules: readonly KernelRule[], pods: readonly PodFromRuleSpec[], host: HostPodRoutes): FromRuleRewrite[] {
  const out: FromRuleRewrite[] = [];
  for (const pod of pods) {
    ipv4ToBytes(pod.address);
    const wanted = pod.routeTable === undefined ? [] : fromPodRules(pod.address, pod.routeTable, pod.fromRuleDestinations);
    const present = rules
      .filter(
        (r) =>
          r.priority === RULE_PRIORITY_FROM_POD &&
          r.action === FR_ACT_TO_TBL &&
          r.fwmark === undefined &&
          r.src?.address === pod.address &&
          r.src.prefixLen === 32,
      )
      .map(asRuleObject);
    const add = host.routed.has(pod.address) ? wanted.filter((w) => !present.some((p) => sameFromRule(p, w))) : [];
    const remove = present.filter((p) => !wanted.some((w) => sameFromRule(p, w)));
    if (add.length > 0 || remove.length > 0) out.push({ address: pod.address, add, remove });
  }
  return out;
}

/**
 * The order that keeps a pod's traffic covered and works with how the kernel matches rules (a
 * selector without a destination matches a rule with any destination, on add and on delete):
 * rules with a destination are added first (the kernel never takes them for an existing catch-all
 * rule), then the unwanted rules go, then a wanted catch-all rule is added (the kernel refuses it,
 * EEXIST, while a destination rule of the same source, table and priority is there). Deleting a
 * catch-all rule removes the first match in the kernel's list, which is the catch-all itself: it
 * can only have been added before the destination rules beside it. Going from destination rules
 * to the catch-all leaves the pod without a `from` rule between the last delete and the add (a
 * few microseconds). Returns three phases to run one after the other.
 */
export function rewritePhases(rewrites: readonly FromRuleRewrite[]): { readonly addFirst: RuleObject[]; readonly remove: RuleObject[]; readonly addLast: RuleObject[] } {
  const adds = rewrites.flatMap((r) => r.add);
  return {
    addFirst: adds.filter((r) => r.dst !== undefined),
    remove: rewrites.flatMap((r) => r.remove),
    addLast: adds.filter((r) => r.dst === undefined),
  };
}
