/**
 * Thin typed operations over the `netlink` package's rtnetlink socket (pinned at 0.3.0; its API
 * is not stable, so every use of it lives here). Each function sends exactly one request.
 */
import { AttrStream, FlagsNew, createRtNetlink, ifla, rt, type RtNetlinkSocket } from 'netlink';
import { bytesToIpv4, ipv4ToBytes } from '../../core/ipv4.js';
import { bytesToMac, macBytes } from './mac.js';
import type {
  KernelAddress,
  KernelLink,
  KernelNeighbour,
  KernelRoute,
  KernelRule,
} from './kernel-state.js';
import type { RouteObject, RuleObject, VethObject } from './plan.js';
import { errnoOf } from './errno.js';
import { RequestGate } from './request-gate.js';

export type { RtNetlinkSocket };

const AF_INET = 2;
const NLM_F_ECHO = 0x8;
const CREATE_EXCL = FlagsNew.CREATE | FlagsNew.EXCL;
const CREATE_REPLACE = FlagsNew.CREATE | FlagsNew.REPLACE;
/** Marks routes as ours (`proto 78` in `ip route`); the kernel does not interpret it. */
export const ROUTE_PROTOCOL = 78;
/** The package types the header field as its enum of well-known protocols; any u8 is valid. */
const ROUTE_PROTOCOL_FIELD = ROUTE_PROTOCOL as number as rt.RouteProtocol;
const RT_SCOPE_NOWHERE = 255;
const RTN_UNICAST = 1;
const FR_ACT_TO_TBL = 1;

/** How a create treats an object that already exists. */
export type CreateMode = 'exclusive' | 'replace';

function createFlags(mode: CreateMode): number {
  return mode === 'exclusive' ? CREATE_EXCL : CREATE_REPLACE;
}

/** Tables above 255 only fit the 32-bit attribute; the 8-bit header field then says UNSPEC. */
function headerTable(table: number): number {
  return table < 256 ? table : 0;
}

function streamBytes(fill: (out: AttrStream) => void): Buffer {
  const out = new AttrStream();
  fill(out);
  return Buffer.concat(out.bufs);
}

const gates = new WeakMap<RtNetlinkSocket, RequestGate>();

/** Sends one request on `sock` once fewer than MAX_IN_FLIGHT are unanswered there. */
function gated<T>(sock: RtNetlinkSocket, request: () => Promise<T>): Promise<T> {
  let gate = gates.get(sock);
  if (gate === undefined) {
    gate = new RequestGate();
    gates.set(sock, gate);
  }
  return gate.run(request);
}

export function openSocket(): RtNetlinkSocket {
  return createRtNetlink();
}

export function closeSocket(sock: RtNetlinkSocket): void {
  sock.socket.close();
}

/**
 * Creates the veth pair in the socket's namespace with the peer placed directly in the pod
 * namespace (`netNsFd`): one request. Both ends are created down (bringing the peer up in the
 * same request fails with ENOTCONN: the kernel opens it before the pair is linked).
 * Returns the host end's ifindex, from the kernel's echo of the new link. With `hostAlias`, a
 * second request sets the host end's alias.
 */
export async function createVeth(sock: RtNetlinkSocket, veth: VethObject, podNsFd: number): Promise<number> {
  const peer = streamBytes((out) => {
    out.emit(rt.formatLink({}));
    out.emit(ifla.formatLinkAttrs({ ifname: veth.podIfName, mtu: veth.mtu, address: macBytes(veth.podMac), netNsFd: podNsFd }));
  });
  const vethInfo = streamBytes((out) => out.emit(ifla.formatVethInfo({ peer })));
  const linkinfo = streamBytes((out) => out.emit(ifla.formatInfo({ kind: 'veth', data: vethInfo })));
  const reply = await gated(sock, () => sock.newLink(
    {},
    { ifname: veth.hostName, mtu: veth.mtu, address: macBytes(veth.hostMac), linkinfo },
    { flags: CREATE_EXCL | NLM_F_ECHO },
  ));
  let index = reply.find((m) => m.attrs.ifname === veth.hostName)?.data.index;
  if (index === undefined || index <= 0) {
    const found = await getLinkByName(sock, veth.hostName);
    if (!found) throw new Error(`veth ${veth.hostName} was created but cannot be found`);
    index = found.index;
  }
  // The kernel takes IFLA_IFALIAS on a change of a link only, not in its creation.
  const alias = veth.hostAlias;
  if (alias !== undefined) await gated(sock, () => sock.setLink({ index }, { ifalias: alias }));
  return index;
}

export async function setLinkUp(sock: RtNetlinkSocket, index: number, mtu?: number): Promise<void> {
  await gated(sock, () => sock.setLink({ index, flags: { up: true }, change: { up: true } }, mtu === undefined ? {} : { mtu }));
}

export async function deleteLinkByName(sock: RtNetlinkSocket, name: string): Promise<void> {
  await gated(sock, () => sock.delLink({}, { ifname: name }));
}

export async function addAddress(
  sock: RtNetlinkSocket,
  index: number,
  address: string,
  prefixLen: number,
  mode: CreateMode,
): Promise<void> {
  const bytes = Buffer.from(ipv4ToBytes(address));
  await gated(sock, () => sock.newAddress({ family: AF_INET, prefixlen: prefixLen, index }, { local: bytes, address: bytes }, { flags: createFlags(mode) }));
}

export async function deleteAddress(sock: RtNetlinkSocket, index: number, address: string, prefixLen: number): Promise<void> {
  const bytes = Buffer.from(ipv4ToBytes(address));
  await gated(sock, () => sock.delAddress({ family: AF_INET, prefixlen: prefixLen, index }, { local: bytes, address: bytes }));
}

function routeAttrs(route: RouteObject, oif: number | undefined): rt.RouteAttrs {
  const attrs: rt.RouteAttrs = { table: route.table };
  if (route.dstLen > 0) attrs.dst = Buffer.from(ipv4ToBytes(route.dst));
  if (oif !== undefined) attrs.oif = oif;
  if (route.gateway !== undefined) attrs.gateway = Buffer.from(ipv4ToBytes(route.gateway));
  if (route.prefsrc !== undefined) attrs.prefsrc = Buffer.from(ipv4ToBytes(route.prefsrc));
  return attrs;
}

export async function addRoute(sock: RtNetlinkSocket, route: RouteObject, oif: number, mode: CreateMode): Promise<void> {
  await gated(sock, () => sock.newRoute(
    {
      family: AF_INET,
      dstLen: route.dstLen,
      table: headerTable(route.table),
      protocol: ROUTE_PROTOCOL_FIELD,
      scope: route.scope === 'link' ? rt.RouteScope.LINK : rt.RouteScope.UNIVERSE,
      type: RTN_UNICAST,
    },
    routeAttrs(route, oif),
    { flags: createFlags(mode) },
  ));
}

/**
 * Deletes the route with this destination and table. With `oif` only the route through that
 * link; with `ours` only a route we installed (our protocol). Scope is a wildcard.
 */
export async function deleteRoute(
  sock: RtNetlinkSocket,
  route: RouteObject,
  match: { readonly oif?: number; readonly ours?: boolean },
): Promise<void> {
  const attrs = routeAttrs(route, match.oif);
  delete attrs.prefsrc;
  await gated(sock, () => sock.delRoute(
    {
      family: AF_INET,
      dstLen: route.dstLen,
      table: headerTable(route.table),
      scope: RT_SCOPE_NOWHERE,
      ...(match.ours ? { protocol: ROUTE_PROTOCOL_FIELD } : {}),
    },
    attrs,
  ));
}

function ruleMessage(rule: RuleObject): [rt.Rule, rt.RuleAttrs] {
  const data: rt.Rule = { family: AF_INET, table: headerTable(rule.table), action: FR_ACT_TO_TBL };
  const attrs: rt.RuleAttrs = { priority: rule.priority, table: rule.table };
  if (rule.src) {
    data.srcLen = rule.src.prefixLen;
    attrs.src = Buffer.from(ipv4ToBytes(rule.src.address));
  }
  if (rule.dst) {
    data.dstLen = rule.dst.prefixLen;
    attrs.dst = Buffer.from(ipv4ToBytes(rule.dst.address));
  }
  if (rule.fwmark) {
    attrs.fwmark = rule.fwmark.value;
    attrs.fwmask = rule.fwmark.mask;
  }
  return [data, attrs];
}

/**
 * Adds a rule; EEXIST when an identical rule exists. No protocol is set: the kernel's duplicate
 * check compares it, so a marked rule would not collide with the same rule added by `ip rule`.
 */
export async function addRule(sock: RtNetlinkSocket, rule: RuleObject): Promise<void> {
  const [data, attrs] = ruleMessage(rule);
  await gated(sock, () => sock.newRule(data, attrs, { flags: CREATE_EXCL }));
}

/** Deletes the rule with this selector, priority and table (any protocol). */
export async function deleteRule(sock: RtNetlinkSocket, rule: RuleObject): Promise<void> {
  const [data, attrs] = ruleMessage(rule);
  await gated(sock, () => sock.delRule(data, attrs));
}

export async function addNeighbour(sock: RtNetlinkSocket, index: number, address: string, lladdr: string): Promise<void> {
  await gated(sock, () => sock.newNeighbor(
    { family: AF_INET, ifindex: index, state: { permanent: true } },
    { dst: Buffer.from(ipv4ToBytes(address)), lladdr: macBytes(lladdr) },
    { flags: CREATE_REPLACE },
  ));
}

function decodeLink(m: rt.LinkMessage): KernelLink | undefined {
  const { index } = m.data;
  const name = m.attrs.ifname;
  if (index === undefined || name === undefined) return undefined;
  let kind: string | undefined;
  if (m.attrs.linkinfo) kind = ifla.parseInfo(m.attrs.linkinfo).kind;
  return {
    index,
    name,
    mac: m.attrs.address && m.attrs.address.length === 6 ? bytesToMac(m.attrs.address) : '',
    mtu: m.attrs.mtu ?? 0,
    up: m.data.flags?.up === true,
    ...(kind === undefined ? {} : { kind }),
    ...(m.attrs.ifalias === undefined || m.attrs.ifalias === '' ? {} : { alias: m.attrs.ifalias }),
  };
}

/** The link with this name, or undefined when there is none. */
export async function getLinkByName(sock: RtNetlinkSocket, name: string): Promise<KernelLink | undefined> {
  try {
    const reply = await gated(sock, () => sock.getLink({}, { ifname: name }));
    const first = reply[0];
    return first ? decodeLink(first) : undefined;
  } catch (err) {
    if (errnoOf(err) === 'ENODEV') return undefined;
    throw err;
  }
}

export async function listLinks(sock: RtNetlinkSocket): Promise<KernelLink[]> {
  const reply = await gated(sock, () => sock.getLinks());
  return reply.map(decodeLink).filter((l): l is KernelLink => l !== undefined);
}

export async function listAddresses(sock: RtNetlinkSocket): Promise<KernelAddress[]> {
  const reply = await gated(sock, () => sock.getAddresses({ family: AF_INET }));
  const out: KernelAddress[] = [];
  for (const m of reply) {
    const bytes = m.attrs.local ?? m.attrs.address;
    if (m.data.family !== AF_INET || !bytes || m.data.index === undefined) continue;
    out.push({ index: m.data.index, address: bytesToIpv4(bytes), prefixLen: m.data.prefixlen ?? 0 });
  }
  return out;
}

function enumNumber(mapping: Record<string, string | number>, value: string | number | undefined): number {
  if (value === undefined) return 0;
  if (typeof value === 'number') return value;
  const n = mapping[value];
  return typeof n === 'number' ? n : 0;
}

export async function listRoutes(sock: RtNetlinkSocket): Promise<KernelRoute[]> {
  const reply = await gated(sock, () => sock.getRoutes({ family: AF_INET }));
  const out: KernelRoute[] = [];
  for (const m of reply) {
    if (m.data.family !== AF_INET) continue;
    const { attrs } = m;
    out.push({
      table: attrs.table ?? m.data.table ?? 0,
      dst: attrs.dst ? bytesToIpv4(attrs.dst) : '0.0.0.0',
      dstLen: m.data.dstLen ?? 0,
      scope: enumNumber(rt.RouteScope, m.data.scope),
      type: enumNumber(rt.RouteType, m.data.type),
      ...(m.data.protocol === undefined ? {} : { protocol: enumNumber(rt.RouteProtocol, m.data.protocol) }),
      ...(attrs.oif === undefined ? {} : { oif: attrs.oif }),
      ...(attrs.gateway ? { gateway: bytesToIpv4(attrs.gateway) } : {}),
      ...(attrs.prefsrc ? { prefsrc: bytesToIpv4(attrs.prefsrc) } : {}),
    });
  }
  return out;
}

export async function listRules(sock: RtNetlinkSocket): Promise<KernelRule[]> {
  const reply = await gated(sock, () => sock.getRules({ family: AF_INET }));
  const out: KernelRule[] = [];
  for (const m of reply) {
    if (m.data.family !== AF_INET) continue;
    const { attrs, data } = m;
    out.push({
      priority: attrs.priority ?? 0,
      table: attrs.table ?? data.table ?? 0,
      action: enumNumber(rt.RuleAction, data.action),
      ...(attrs.src ? { src: { address: bytesToIpv4(attrs.src), prefixLen: data.srcLen ?? 0 } } : {}),
      ...(attrs.dst ? { dst: { address: bytesToIpv4(attrs.dst), prefixLen: data.dstLen ?? 0 } } : {}),
      ...((attrs.fwmark ?? 0) !== 0 || (attrs.fwmask ?? 0) !== 0 ? { fwmark: { value: attrs.fwmark ?? 0, mask: attrs.fwmask ?? 0xffffffff } } : {}),
    });
  }
  return out;
}

export async function listNeighbours(sock: RtNetlinkSocket): Promise<KernelNeighbour[]> {
  const reply = await gated(sock, () => sock.getNeighbors({ family: AF_INET }));
  const out: KernelNeighbour[] = [];
  for (const m of reply) {
    if (m.data.family !== AF_INET || !m.attrs.dst || m.data.ifindex === undefined) continue;
    out.push({
      index: m.data.ifindex,
      address: bytesToIpv4(m.attrs.dst),
      permanent: m.data.state?.permanent === true,
      ...(m.attrs.lladdr && m.attrs.lladdr.length === 6 ? { lladdr: bytesToMac(m.attrs.lladdr) } : {}),
    });
  }
  return out;
}
