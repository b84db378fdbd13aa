/**
 * Pure comparison of a plan with kernel snapshots: one human-readable message per drift.
 * Extra objects the plan does not mention are not reported.
 */
import { MAIN_TABLE, describe, ruleSelector, tableName, type PlanObject, type RouteObject, type RuleObject, type Side } from './plan.js';
import {
  FR_ACT_TO_TBL,
  RTN_UNICAST,
  SCOPE_LINK,
  SCOPE_UNIVERSE,
  type KernelLink,
  type KernelRoute,
  type NamespaceState,
} from './kernel-state.js';

/** The pod namespace's state, or why it could not be read. */
export type PodSideState = { readonly state: NamespaceState } | { readonly unavailable: string };

function linkLabel(side: Side, name: string, hostVeth: string | undefined): string {
  if (side === 'pod') return `pod ${name}`;
  return name === hostVeth ? `host veth ${name}` : `host link ${name}`;
}

function routeText(route: { dst: string; dstLen: number; gateway?: string | undefined }): string {
  const dst = route.dstLen === 0 ? 'default' : `${route.dst}/${route.dstLen}`;
  return route.gateway === undefined ? dst : `${dst} via ${route.gateway}`;
}

function kernelRouteText(route: KernelRoute, links: readonly KernelLink[]): string {
  const dev = links.find((l) => l.index === route.oif)?.name ?? (route.oif === undefined ? '?' : `#${route.oif}`);
  const scope = route.scope === SCOPE_LINK ? ' scope link' : route.scope === SCOPE_UNIVERSE ? '' : ` scope ${route.scope}`;
  return `${routeText(route)} dev ${dev}${scope}`;
}

function checkRoute(route: RouteObject, ns: NamespaceState, label: string): string[] {
  const dev = ns.links.find((l) => l.name === route.dev);
  const scope = route.scope === 'link' ? SCOPE_LINK : SCOPE_UNIVERSE;
  const sameDst = ns.routes.filter(
    (r) => r.table === route.table && r.dst === route.dst && r.dstLen === route.dstLen && r.type === RTN_UNICAST,
  );
  const exact = sameDst.find(
    (r) => dev !== undefined && r.oif === dev.index && r.gateway === route.gateway && r.scope === scope && (route.prefsrc === undefined || r.prefsrc === route.prefsrc),
  );
  if (exact) return [];
  const want = `${routeText(route)} dev ${route.dev}`;
  const table = route.table === MAIN_TABLE ? 'main table' : `table ${route.table}`;
  if (sameDst.length === 0) return [`${label}route ${want} missing from ${table}`];
  const found = sameDst.map((r) => kernelRouteText(r, ns.links)).join(', ');
  return [`${label}route ${routeText(route)} in ${table} is ${found}, expected ${describe(route).replace(/^\w+ route /, '').replace(/ table \S+$/, '')}`];
}

function sameCidr(a: RuleObject['src'], b: RuleObject['src']): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.address === b.address && a.prefixLen === b.prefixLen;
}

function checkRule(rule: RuleObject, ns: NamespaceState): string[] {
  const matching = ns.rules.filter(
    (r) => r.action === FR_ACT_TO_TBL && r.table === rule.table && sameCidr(r.src, rule.src) && sameCidr(r.dst, rule.dst),
  );
  const text = `rule ${ruleSelector(rule)} lookup ${tableName(rule.table)}`;
  if (matching.some((r) => r.priority === rule.priority)) return [];
  if (matching.length === 0) return [`${text} missing`];
  return [`${text} has priority ${matching.map((r) => r.priority).join(', ')}, expected ${rule.priority}`];
}

/**
 * Compares `plan` (from planPod or planInterface) with the host namespace and, for pod objects,
 * the pod namespace. Returns messages such as
 * `route 10.0.1.5/32 dev eni1234 missing from main table`.
 */
export function diffPlan(plan: readonly PlanObject[], host: NamespaceState, pod: PodSideState): string[] {
  const out: string[] = [];
  const veth = plan.find((o) => o.kind === 'veth');
  const hostVeth = veth?.kind === 'veth' ? veth.hostName : undefined;
  if ('unavailable' in pod && plan.some((o) => o.side === 'pod')) out.push(pod.unavailable);
  const podState = 'state' in pod ? pod.state : undefined;
  const nsOf = (side: Side): NamespaceState | undefined => (side === 'host' ? host : podState);

  for (const obj of plan) {
    const ns = nsOf(obj.side);
    if (!ns) continue;
    switch (obj.kind) {
      case 'veth': {
        const hostLink = host.links.find((l) => l.name === obj.hostName);
        if (!hostLink) out.push(`host veth ${obj.hostName} missing`);
        else {
          if (hostLink.kind !== 'veth') out.push(`host link ${obj.hostName} is ${hostLink.kind ?? 'a device'}, expected a veth`);
          if (hostLink.mtu !== obj.mtu) out.push(`host veth ${obj.hostName} has MTU ${hostLink.mtu}, expected ${obj.mtu}`);
        }
        if (podState) {
          const podLink = podState.links.find((l) => l.name === obj.podIfName);
          if (!podLink) out.push(`pod ${obj.podIfName} missing in ${obj.netnsPath}`);
          else if (podLink.mtu !== obj.mtu) out.push(`pod ${obj.podIfName} has MTU ${podLink.mtu}, expected ${obj.mtu}`);
        }
        break;
      }
      case 'link-up': {
        const link = ns.links.find((l) => l.name === obj.dev);
        const label = linkLabel(obj.side, obj.dev, hostVeth);
        // A missing veth end is already reported by the veth object.
        if (!link) {
          if (!veth) out.push(`${label} missing`);
        } else {
          if (!link.up) out.push(`${label} is down`);
          if (obj.mtu !== undefined && link.mtu !== obj.mtu) out.push(`${label} has MTU ${link.mtu}, expected ${obj.mtu}`);
        }
        break;
      }
      case 'address': {
        const link = ns.links.find((l) => l.name === obj.dev);
        if (!link) break;
        const label = linkLabel(obj.side, obj.dev, hostVeth);
        const addrs = ns.addresses.filter((a) => a.index === link.index);
        if (addrs.some((a) => a.address === obj.address && a.prefixLen === obj.prefixLen)) break;
        const want = `${obj.address}/${obj.prefixLen}`;
        if (addrs.length === 0) out.push(`${label} has no IPv4 address, expected ${want}`);
        else out.push(`${label} has address ${addrs.map((a) => `${a.address}/${a.prefixLen}`).join(', ')}, expected ${want}`);
        break;
      }
      case 'route':
        out.push(...checkRoute(obj, ns, obj.side === 'pod' ? 'pod ' : ''));
        break;
      case 'neighbour': {
        const link = ns.links.find((l) => l.name === obj.dev);
        if (!link) break;
        const label = `${obj.side} neighbour ${obj.address} dev ${obj.dev}`;
        const entry = ns.neighbours.find((n) => n.index === link.index && n.address === obj.address);
        if (!entry) out.push(`${label} missing`);
        else {
          const hostVethPresent = hostVeth === undefined || host.links.some((l) => l.name === hostVeth);
          if (hostVethPresent && entry.lladdr !== obj.lladdr) {
            out.push(`${label} has lladdr ${entry.lladdr ?? 'none'}, expected ${obj.lladdr}`);
          }
          if (!entry.permanent) out.push(`${label} is not permanent`);
        }
        break;
      }
      case 'rule':
        out.push(...checkRule(obj, ns));
        break;
    }
  }
  return out;
}
