/**
 * Pure planning: the kernel objects a pod or a secondary interface needs, in the order they must
 * be created. No I/O; apply.ts executes a plan and check.ts compares one with the kernel.
 */
import {
  POD_GATEWAY,
  RULE_PRIORITY_FROM_POD,
  RULE_PRIORITY_TO_POD,
  type HostInterfaceSpec,
  type PodNetworkSpec,
  type PodTeardownSpec,
} from './types.js';
import { intToIpv4, ipv4ToBytes, parseCidr, subnetGateway } from '../../core/ipv4.js';
import { normalizeMac } from './mac.js';

export const MAIN_TABLE = 254;

/** Which network namespace an object lives in. */
export type Side = 'host' | 'pod';

export interface VethObject {
  readonly kind: 'veth';
  readonly side: 'host';
  readonly hostName: string;
  readonly hostMac: string;
  readonly podIfName: string;
  readonly podMac: string;
  readonly mtu: number;
  readonly netnsPath: string;
  /** Written as the host veth's alias (see PodNetworkSpec.hostAlias). */
  readonly hostAlias?: string;
}

/** Brings a link up; for a secondary interface also sets its MTU. */
export interface LinkUpObject {
  readonly kind: 'link-up';
  readonly side: Side;
  readonly dev: string;
  readonly mtu?: number;
}

export interface AddressObject {
  readonly kind: 'address';
  readonly side: Side;
  readonly dev: string;
  readonly address: string;
  readonly prefixLen: number;
}

export interface RouteObject {
  readonly kind: 'route';
  readonly side: Side;
  readonly table: number;
  /** Destination network address; `0.0.0.0` with dstLen 0 for a default route. */
  readonly dst: string;
  readonly dstLen: number;
  readonly dev: string;
  readonly scope: 'link' | 'universe';
  readonly gateway?: string;
  readonly prefsrc?: string;
}

export interface NeighbourObject {
  readonly kind: 'neighbour';
  readonly side: Side;
  readonly dev: string;
  readonly address: string;
  readonly lladdr: string;
}

export interface RuleObject {
  readonly kind: 'rule';
  readonly side: 'host';
  readonly priority: number;
  readonly table: number;
  readonly dst?: { readonly address: string; readonly prefixLen: number };
  readonly src?: { readonly address: string; readonly prefixLen: number };
  /** Matches packets whose firewall mark, masked with `mask`, equals `value` (`fwmark value/mask`). */
  readonly fwmark?: { readonly value: number; readonly mask: number };
}

export type PlanObject = VethObject | LinkUpObject | AddressObject | RouteObject | NeighbourObject | RuleObject;

/** MACs for the veth pair; chosen by the caller (random, locally administered). */
export interface VethMacs {
  readonly host: string;
  readonly pod: string;
}

function tableName(table: number): string {
  if (table === 0) return 'any';
  return table === MAIN_TABLE ? 'main' : String(table);
}

function validateMtu(mtu: number): void {
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new RangeError(`invalid MTU ${mtu}: must be an integer from 68 to 65535`);
}

function validateTable(table: number): void {
  if (!Number.isInteger(table) || table < 1 || table > 0xfffffffe || table === MAIN_TABLE || table === 253 || table === 255) {
    throw new RangeError(`invalid route table ${table}: must be an integer from 1 to 4294967294 other than 253, 254, 255`);
  }
}

function validateIfName(name: string, what: string): void {
  if (!/^[^\s/:]{1,15}$/.test(name) || Buffer.byteLength(name) > 15) {
    throw new RangeError(`invalid ${what} ${JSON.stringify(name)}: 1 to 15 bytes, no whitespace, '/' or ':'`);
  }
}

/** The objects addPod creates, in creation order. Throws a RangeError on an invalid spec. */
export function planPod(spec: PodNetworkSpec, macs: VethMacs): PlanObject[] {
  ipv4ToBytes(spec.address);
  validateMtu(spec.mtu);
  validateIfName(spec.hostVethName, 'host veth name');
  validateIfName(spec.podIfName, 'pod interface name');
  if (spec.routeTable !== undefined) validateTable(spec.routeTable);
  const host = spec.hostVethName;
  const pod = spec.podIfName;
  const plan: PlanObject[] = [
    {
      kind: 'veth',
      side: 'host',
      hostName: host,
      hostMac: normalizeMac(macs.host),
      podIfName: pod,
      podMac: normalizeMac(macs.pod),
      mtu: spec.mtu,
      netnsPath: spec.netnsPath,
      ...(spec.hostAlias === undefined ? {} : { hostAlias: spec.hostAlias }),
    },
    { kind: 'address', side: 'pod', dev: pod, address: spec.address, prefixLen: 32 },
    { kind: 'link-up', side: 'pod', dev: pod },
    { kind: 'route', side: 'pod', table: MAIN_TABLE, dst: POD_GATEWAY, dstLen: 32, dev: pod, scope: 'link' },
    { kind: 'route', side: 'pod', table: MAIN_TABLE, dst: '0.0.0.0', dstLen: 0, dev: pod, scope: 'universe', gateway: POD_GATEWAY },
    { kind: 'neighbour', side: 'pod', dev: pod, address: POD_GATEWAY, lladdr: normalizeMac(macs.host) },
    { kind: 'link-up', side: 'host', dev: host },
    { kind: 'route', side: 'host', table: MAIN_TABLE, dst: spec.address, dstLen: 32, dev: host, scope: 'link' },
    { kind: 'rule', side: 'host', priority: RULE_PRIORITY_TO_POD, table: MAIN_TABLE, dst: { address: spec.address, prefixLen: 32 } },
  ];
  if (spec.routeTable !== undefined) plan.push(...fromPodRules(spec.address, spec.routeTable, spec.fromRuleDestinations));
  return plan;
}

/**
 * `from <address> lookup <table>`, or with destinations one `from <address> to <cidr> lookup
 * <table>` rule per distinct CIDR (normalised to its network address), in the order given.
 */
export function fromPodRules(address: string, table: number, destinations: readonly string[] | undefined): RuleObject[] {
  const src = { address, prefixLen: 32 };
  if (destinations === undefined) return [{ kind: 'rule', side: 'host', priority: RULE_PRIORITY_FROM_POD, table, src }];
  if (destinations.length === 0) throw new RangeError('fromRuleDestinations is empty: give at least one CIDR, or leave it unset for every destination');
  const seen = new Set<string>();
  const rules: RuleObject[] = [];
  for (const cidr of destinations) {
    const dst = parseCidr(cidr);
    if (seen.has(dst.text)) continue;
    seen.add(dst.text);
    rules.push({ kind: 'rule', side: 'host', priority: RULE_PRIORITY_FROM_POD, table, src, dst: { address: intToIpv4(dst.network), prefixLen: dst.prefixLength } });
  }
  return rules;
}

/**
 * The objects setupInterface installs for a secondary interface whose Linux link is `dev`.
 * The interface's primary address goes on the link as /32: the subnet route's source must be a
 * local address, and a /32 adds no route to the main table (the AWS VPC CNI adds the subnet
 * prefix, then deletes the main-table route the kernel made for it).
 */
export function planInterface(spec: HostInterfaceSpec, dev: string): PlanObject[] {
  validateIfName(dev, 'interface name');
  validateMtu(spec.mtu);
  validateTable(spec.routeTable);
  normalizeMac(spec.mac);
  ipv4ToBytes(spec.primaryIp);
  const subnet = parseCidr(spec.subnetCidr);
  const gateway = subnetGateway(spec.subnetCidr);
  return [
    { kind: 'link-up', side: 'host', dev, mtu: spec.mtu },
    { kind: 'address', side: 'host', dev, address: spec.primaryIp, prefixLen: 32 },
    {
      kind: 'route',
      side: 'host',
      table: spec.routeTable,
      dst: intToIpv4(subnet.network),
      dstLen: subnet.prefixLength,
      dev,
      scope: 'link',
      prefsrc: spec.primaryIp,
    },
    { kind: 'route', side: 'host', table: spec.routeTable, dst: '0.0.0.0', dstLen: 0, dev, scope: 'universe', gateway },
    {
      kind: 'rule',
      side: 'host',
      priority: RULE_PRIORITY_FROM_POD,
      table: spec.routeTable,
      src: { address: spec.primaryIp, prefixLen: 32 },
    },
  ];
}

/**
 * The host-side objects delPod removes (the pod side goes with the veth). Without a route table
 * the `from` rule is matched in any table (table 0), so a rule left by an earlier placement goes too.
 * The `from` rule has no destination: the kernel then matches a rule with any destination, so
 * deleting it until none is left removes every form (see PodNetworkSpec.fromRuleDestinations).
 */
export function planPodTeardown(spec: PodTeardownSpec): { route: RouteObject; rules: RuleObject[] } {
  ipv4ToBytes(spec.address);
  validateIfName(spec.hostVethName, 'host veth name');
  if (spec.routeTable !== undefined) validateTable(spec.routeTable);
  const route: RouteObject = {
    kind: 'route',
    side: 'host',
    table: MAIN_TABLE,
    dst: spec.address,
    dstLen: 32,
    dev: spec.hostVethName,
    scope: 'link',
  };
  const rules: RuleObject[] = [
    { kind: 'rule', side: 'host', priority: RULE_PRIORITY_TO_POD, table: MAIN_TABLE, dst: { address: spec.address, prefixLen: 32 } },
    { kind: 'rule', side: 'host', priority: RULE_PRIORITY_FROM_POD, table: spec.routeTable ?? 0, src: { address: spec.address, prefixLen: 32 } },
  ];
  return { route, rules };
}

/** iproute2-like one-line description, used in step names, logs and check messages. */
export function describe(obj: PlanObject): string {
  switch (obj.kind) {
    case 'veth':
      return `veth ${obj.hostName} peer ${obj.podIfName} in ${obj.netnsPath}`;
    case 'link-up':
      return `${obj.side} link ${obj.dev} up${obj.mtu === undefined ? '' : ` mtu ${obj.mtu}`}`;
    case 'address':
      return `${obj.side} address ${obj.address}/${obj.prefixLen} dev ${obj.dev}`;
    case 'route': {
      const dst = obj.dstLen === 0 ? 'default' : `${obj.dst}/${obj.dstLen}`;
      const via = obj.gateway === undefined ? '' : ` via ${obj.gateway}`;
      const scope = obj.scope === 'link' ? ' scope link' : '';
      const src = obj.prefsrc === undefined ? '' : ` src ${obj.prefsrc}`;
      const table = obj.side === 'pod' ? '' : ` table ${tableName(obj.table)}`;
      return `${obj.side} route ${dst}${via} dev ${obj.dev}${scope}${src}${table}`;
    }
    case 'neighbour':
      return `${obj.side} neighbour ${obj.address} lladdr ${obj.lladdr} dev ${obj.dev} permanent`;
    case 'rule':
      return `rule ${ruleSelector(obj)} lookup ${tableName(obj.table)} priority ${obj.priority}`;
  }
}

export function ruleSelector(rule: RuleObject): string {
  const parts: string[] = [];
  if (rule.src) parts.push(`from ${rule.src.address}/${rule.src.prefixLen}`);
  if (rule.dst) parts.push(`to ${rule.dst.address}/${rule.dst.prefixLen}`);
  if (rule.fwmark) parts.push(`fwmark 0x${rule.fwmark.value.toString(16)}/0x${rule.fwmark.mask.toString(16)}`);
  return parts.length > 0 ? parts.join(' ') : 'from all';
}

export { tableName };
