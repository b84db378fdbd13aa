/** Plain snapshots of kernel objects, decoded from netlink; what check.ts compares plans with. */

export interface KernelLink {
  readonly index: number;
  readonly name: string;
  /** Lower-case colon MAC; empty when the link has none. */
  readonly mac: string;
  readonly mtu: number;
  readonly up: boolean;
  /** `veth`, `dummy`…; undefined for physical devices. */
  readonly kind?: string;
  /** IFLA_IFALIAS, when set. */
  readonly alias?: string;
}

export interface KernelAddress {
  readonly index: number;
  readonly address: string;
  readonly prefixLen: number;
}

export interface KernelRoute {
  readonly table: number;
  readonly dst: string;
  readonly dstLen: number;
  readonly oif?: number;
  readonly gateway?: string;
  readonly prefsrc?: string;
  /** Numeric RT_SCOPE_*: 0 universe, 253 link, 254 host. */
  readonly scope: number;
  /** Numeric RTN_*: 1 unicast, 2 local… */
  readonly type: number;
  /** Numeric RTPROT_*: who installed it (ours is ROUTE_PROTOCOL in rtnl.ts). */
  readonly protocol?: number;
}

export interface KernelRule {
  readonly priority: number;
  readonly table: number;
  /** Numeric FR_ACT_*: 1 lookup a table. */
  readonly action: number;
  readonly src?: { readonly address: string; readonly prefixLen: number };
  readonly dst?: { readonly address: string; readonly prefixLen: number };
  /** Firewall mark match; absent when the rule has none (mark and mask 0). */
  readonly fwmark?: { readonly value: number; readonly mask: number };
}

export interface KernelNeighbour {
  readonly index: number;
  readonly address: string;
  readonly lladdr?: string;
  readonly permanent: boolean;
}

/** IPv4 state of one network namespace. */
export interface NamespaceState {
  readonly links: readonly KernelLink[];
  readonly addresses: readonly KernelAddress[];
  readonly routes: readonly KernelRoute[];
  readonly rules: readonly KernelRule[];
  readonly neighbours: readonly KernelNeighbour[];
}

export const EMPTY_NAMESPACE: NamespaceState = { links: [], addresses: [], routes: [], rules: [], neighbours: [] };

export const SCOPE_UNIVERSE = 0;
export const SCOPE_LINK = 253;
export const RTN_UNICAST = 1;
export const FR_ACT_TO_TBL = 1;
