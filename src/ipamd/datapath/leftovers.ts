/**
 * Pure: which host-side pod objects belong to no live pod, for GC. Only objects that only a
 * pod plan creates are candidates (see planPod), so an interface's own route table, rule and
 * address, and anything another program installed, are never touched.
 */
import { MAIN_TABLE, type RouteObject, type RuleObject } from './plan.js';
import { FR_ACT_TO_TBL, type NamespaceState } from './kernel-state.js';
import { RULE_PRIORITY_FROM_POD, RULE_PRIORITY_TO_POD } from './types.js';

/** What live pods (and the node's interfaces) hold right now. */
export interface HostObjectsInUse {
  /** Host veth names of pods that have an allocation. */
  readonly veths: ReadonlySet<string>;
  /** Addresses of pods that have an allocation, and the primary addresses of the node's interfaces. */
  readonly addresses: ReadonlySet<string>;
}

export interface PodLeftovers {
  readonly veths: readonly string[];
  readonly routes: readonly RouteObject[];
  readonly rules: readonly RuleObject[];
}

/**
 * Finds, in the host namespace:
 * - veths named with `vethPrefix` that no live pod owns;
 * - `<address>/32` routes in the main table installed with `routeProtocol` (ours), whose address
 *   no live pod holds and whose link is not being removed with its veth anyway;
 * - `to <address>/32 lookup main` rules at the to-pod priority, and `from <address>/32` rules at
 *   the from-pod priority (with or without a destination: see PodNetworkSpec.fromRuleDestinations),
 *   for addresses no live pod holds. A `from` rule whose address is a local address of the host is
 *   an interface's (planInterface), not a pod's.
 */
export function findPodLeftovers(
  host: Pick<NamespaceState, 'links' | 'addresses' | 'routes' | 'rules'>,
  vethPrefix: string,
  routeProtocol: number,
  inUse: HostObjectsInUse,
): PodLeftovers {
  const veths = host.links
    .filter((l) => l.kind === 'veth' && l.name.startsWith(vethPrefix) && !inUse.veths.has(l.name))
    .map((l) => l.name)
    .sort();
  const doomedIndexes = new Set(host.links.filter((l) => veths.includes(l.name)).map((l) => l.index));
  const nameOf = new Map(host.links.map((l) => [l.index, l.name]));
  const local = new Set(host.addresses.map((a) => a.address));

  const routes: RouteObject[] = [];
  for (const r of host.routes) {
    if (r.table !== MAIN_TABLE || r.dstLen !== 32 || r.protocol !== routeProtocol || r.gateway !== undefined) continue;
    if (inUse.addresses.has(r.dst) || (r.oif !== undefined && doomedIndexes.has(r.oif))) continue;
    const dev = r.oif === undefined ? undefined : nameOf.get(r.oif);
    if (dev !== undefined && inUse.veths.has(dev)) continue;
    routes.push({ kind: 'route', side: 'host', table: MAIN_TABLE, dst: r.dst, dstLen: 32, dev: dev ?? '?', scope: 'link' });
  }

  const rules: RuleObject[] = [];
  for (const r of host.rules) {
    if (r.action !== FR_ACT_TO_TBL) continue;
    if (r.priority === RULE_PRIORITY_TO_POD && r.table === MAIN_TABLE && r.src === undefined && r.dst?.prefixLen === 32) {
      if (!inUse.addresses.has(r.dst.address)) {
        rules.push({ kind: 'rule', side: 'host', priority: r.priority, table: r.table, dst: r.dst });
      }
    } else if (r.priority === RULE_PRIORITY_FROM_POD && r.src?.prefixLen === 32) {
      if (!inUse.addresses.has(r.src.address) && !local.has(r.src.address)) {
        rules.push({ kind: 'rule', side: 'host', priority: r.priority, table: r.table, src: r.src, ...(r.dst === undefined ? {} : { dst: r.dst }) });
      }
    }
  }
  return { veths, routes, rules };
}

/** A pod's address as the host's kernel shows it: a `/32` route to it over a veth with our prefix (see findPodRoutes). */
export interface KernelPodRoute {
  readonly address: string;
  readonly hostVeth: string;
  /** The host veth's alias (IFLA_IFALIAS): what the daemon wrote there of the pod's allocation. */
  readonly alias?: string;
}

/**
 * The pods the host's kernel routes to: `<address>/32` routes in the main table without a gateway
 * over a veth named with `vethPrefix`, whoever installed them: nativeip (its protocol, and the
 * veth's alias), or the AWS VPC CNI on a node switched from it (the same veth names and routes,
 * the kernel's default protocol), whose pods keep their addresses until they end. A record of its
 * own, beside the checkpoint: a route outlives a lost checkpoint, and goes with the veth when the
 * pod's namespace goes.
 */
export function findPodRoutes(host: Pick<NamespaceState, 'links' | 'routes'>, vethPrefix: string): KernelPodRoute[] {
  const veths = new Map(host.links.filter((l) => l.kind === 'veth' && l.name.startsWith(vethPrefix)).map((l) => [l.index, l]));
  const found: KernelPodRoute[] = [];
  for (const r of host.routes) {
    if (r.table !== MAIN_TABLE || r.dstLen !== 32 || r.gateway !== undefined || r.oif === undefined) continue;
    const veth = veths.get(r.oif);
    if (veth !== undefined) found.push({ address: r.dst, hostVeth: veth.name, ...(veth.alias === undefined ? {} : { alias: veth.alias }) });
  }
  return found.sort((a, b) => a.hostVeth.localeCompare(b.hostVeth));
}

/**
 * The addresses the host routes to a pod, whatever the link: `<address>/32` routes in the main
 * table with our protocol and no gateway (planPod's host route).
 */
export function podRouteAddresses(routes: NamespaceState['routes'], routeProtocol: number): Set<string> {
  return new Set(routes.filter((r) => r.table === MAIN_TABLE && r.dstLen === 32 && r.protocol === routeProtocol && r.gateway === undefined).map((r) => r.dst));
}
