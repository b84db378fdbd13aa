/**
 * The datapath the daemon programs: host-side interface setup and per-pod plumbing.
 * Implementations: NetlinkDatapath (real kernel). The contract is cloud-neutral.
 */

/** Rule priorities, as in the AWS VPC CNI: `to pod` before `from pod`. */
export const RULE_PRIORITY_TO_POD = 512;
export const RULE_PRIORITY_FROM_POD = 1536;
/**
 * The node-port rule (`fwmark <mark>/<mark> lookup main`), before every pod's `from` rule: replies
 * of connections that arrived on the primary interface leave through it (AWS_VPC_CNI_NODE_PORT_SUPPORT).
 */
export const RULE_PRIORITY_NODE_PORT = 1024;
/** The pod's default gateway: link-local, answered by a permanent neighbour entry. */
export const POD_GATEWAY = '169.254.1.1';

/** A secondary cloud interface as the host must see it. */
export interface HostInterfaceSpec {
  /** MAC of the Linux link to configure (the ENI's / NIC's MAC). */
  readonly mac: string;
  /** The interface's primary address, e.g. `10.0.2.17`. */
  readonly primaryIp: string;
  /** Subnet CIDR, e.g. `10.0.2.0/24`. Gateway is its first host address. */
  readonly subnetCidr: string;
  readonly mtu: number;
  /** Route table for traffic sourced from this interface's addresses (AWS CNI: device index + 1). */
  readonly routeTable: number;
}

/** Everything needed to plumb one pod. */
export interface PodNetworkSpec {
  /** Pod network namespace path (CNI_NETNS). */
  readonly netnsPath: string;
  /** Interface name inside the pod (CNI_IFNAME), usually `eth0`. */
  readonly podIfName: string;
  /** Host-side veth name, ≤ 15 bytes. */
  readonly hostVethName: string;
  /** Pod IPv4 address without prefix; configured as /32. */
  readonly address: string;
  readonly mtu: number;
  /**
   * Route table of the cloud interface the address belongs to, for the `from <pod> lookup <table>`
   * rule; undefined for the primary interface (main table).
   */
  readonly routeTable?: number;
  /**
   * With a route table: the destinations (CIDRs) that use it, one
   * `from <pod> to <cidr> lookup <table>` rule each, so that other traffic follows the main table
   * (SNAT of traffic leaving the VPC: the VPC CIDRs). Undefined: one `from <pod> lookup <table>`
   * rule for every destination. Ignored without a route table.
   */
  readonly fromRuleDestinations?: readonly string[];
  /**
   * Written as the host veth's alias (IFLA_IFALIAS, at most 255 bytes) when the veth is created:
   * a record the kernel keeps of whose network this is, read back by listPodRoutes.
   */
  readonly hostAlias?: string;
}

export interface PodNetworkResult {
  readonly hostVeth: { readonly name: string; readonly mac: string };
  readonly podInterface: { readonly name: string; readonly mac: string };
}

/**
 * What DEL needs: the netns may already be gone. Every `from <address>` rule at the from-pod
 * priority goes, whatever its destination, so a pod added with or without SNAT destinations
 * (see {@link PodNetworkSpec.fromRuleDestinations}) is torn down the same way.
 */
export interface PodTeardownSpec {
  readonly hostVethName: string;
  readonly address: string;
  readonly routeTable?: number;
}

/** What the `from` rules of an existing pod depend on (see {@link PodNetworkSpec}). */
export type PodFromRuleSpec = Pick<PodNetworkSpec, 'address' | 'routeTable' | 'fromRuleDestinations'>;

/** What GC asks the datapath to sweep. */
export interface PodLeftoverQuery {
  /** Host veth prefix of this daemon's pods (AWS_VPC_K8S_CNI_VETHPREFIX). */
  readonly vethPrefix: string;
  /** What live pods and the node's interfaces hold, read at the moment of deciding. */
  readonly inUse: () => { readonly veths: ReadonlySet<string>; readonly addresses: ReadonlySet<string> };
  /** Only say what would be removed; remove nothing. */
  readonly dryRun?: boolean;
}

export interface Datapath {
  /**
   * Brings a secondary interface up with its MTU, installs its route table (subnet route and
   * default via the subnet gateway) and the `from <primaryIp>` rule. Waits up to `timeoutMs` for
   * the link to appear (the cloud attaches asynchronously). Idempotent.
   */
  setupInterface(spec: HostInterfaceSpec, options?: { timeoutMs?: number }): Promise<void>;
  /** Removes the rule and routes of a secondary interface before it is detached. Idempotent. */
  teardownInterface(spec: HostInterfaceSpec): Promise<void>;
  /**
   * Creates the veth pair, addresses, routes, neighbour entry and rules for one pod. On any
   * failure it removes what it created and throws a DatapathError naming the step.
   */
  addPod(spec: PodNetworkSpec): Promise<PodNetworkResult>;
  /** Removes the host veth, host route and rules of a pod. Succeeds when they are already gone. */
  delPod(spec: PodTeardownSpec): Promise<void>;
  /** Compares the kernel with what addPod sets up; returns one message per drift (empty: ok). */
  checkPod(spec: PodNetworkSpec): Promise<string[]>;
  /** Host-side veth names whose name starts with `prefix`, for leftover clean-up. */
  listHostVeths(prefix: string): Promise<string[]>;
  /**
   * The pods the host's kernel routes to: each `/32` route to a pod address over a veth named with
   * `vethPrefix`, nativeip's or the AWS VPC CNI's (see findPodRoutes). Read-only.
   */
  listPodRoutes?(vethPrefix: string): Promise<readonly { readonly address: string; readonly hostVeth: string; readonly alias?: string }[]>;
  /**
   * GC: removes host-side pod objects no live pod owns (veths named with the prefix, our /32
   * routes, to-pod and from-pod rules; see findPodLeftovers). Reads the host first, then calls
   * `inUse()` to decide, so a pod added meanwhile is kept. Returns a description of each object
   * removed. Throws a DatapathError naming the first object it could not remove, after trying
   * them all. Optional: a datapath without it has no leftovers to sweep.
   */
  removePodLeftovers?(query: PodLeftoverQuery): Promise<string[]>;
  /**
   * Makes the host's node-port rule `fwmark <mark>/<mark> lookup main` (priority
   * {@link RULE_PRIORITY_NODE_PORT}) exactly `mark`: adds it, removes one with another mark;
   * `undefined` removes it. Idempotent. Throws a DatapathError naming the rule it could not change.
   * Optional: a datapath without it has no policy routing to correct.
   */
  syncNodePortRule?(mark: number | undefined): Promise<void>;
  /**
   * Rewrites the `from` rules (priority {@link RULE_PRIORITY_FROM_POD}) of the pods `pods()` lists
   * (called after reading the host) to the form addPod would create now, e.g. after the SNAT mode
   * or the VPC CIDRs changed. Rules of other addresses are never touched. A pod whose address the
   * host does not route (no `/32` route of ours to it) gets no rule added, only rules of another
   * form removed (see planFromRuleRewrite). Idempotent; returns how many pods' rules were changed.
   * Throws a DatapathError when the rules do not converge.
   */
  rewritePodFromRules?(pods: () => readonly PodFromRuleSpec[]): Promise<number>;
  /** Closes the netlink sockets. */
  close(): void;
}

export class DatapathError extends Error {
  override readonly name = 'DatapathError';
  /** The step that failed, e.g. `create veth`, `add route 10.0.1.5/32`. */
  readonly step: string;
  constructor(step: string, message: string, options?: { cause?: unknown }) {
    super(`${step}: ${message}`, options);
    this.step = step;
  }
}
