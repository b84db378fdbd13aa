/**
 * Cloud-neutral types shared by the pool engine, the daemon and every provider.
 * Pure: no I/O, no node:* imports. SDK types never appear here.
 */

/** One network interface attached to the node: an AWS ENI or an Azure NIC. */
export interface CloudInterface {
  /** Cloud id: `eni-0abc…` on AWS, the NIC's ARM resource id on Azure. */
  readonly id: string;
  /** MAC address, lower case, colon separated. How the datapath finds the Linux link. */
  readonly mac: string;
  /** Attachment slot. 0 is the node's primary interface. */
  readonly deviceIndex: number;
  readonly subnetId: string;
  /** The subnet's IPv4 CIDR, e.g. `10.0.1.0/24`. */
  readonly subnetCidr: string;
  /** The interface's own primary IPv4 address; never handed to a pod. */
  readonly primaryIp: string;
  /** Secondary IPv4 addresses on the interface: the addresses pods may get. */
  readonly secondaryIps: readonly string[];
  /**
   * IPv4 addresses on the interface that are neither its primary nor the pool's (Azure: IP
   * configurations someone else added). Never handed to a pod; listed so the instance's own view
   * ({@link CloudProvider.observeNode}), which shows them too, can be compared. Absent or empty: none.
   */
  readonly otherIps?: readonly string[];
  /**
   * IPv4 prefixes delegated to the interface (`10.0.4.16/28`), when the cloud has them. Every
   * address of a prefix may be handed to a pod. Absent or empty: none.
   */
  readonly prefixes?: readonly string[];
  /** True when nativeip created the interface (tagged as ours) and may delete it. */
  readonly managed: boolean;
  /**
   * True when the pool may hand out addresses on it although nativeip did not create it (Azure:
   * every NIC of the VM, since nativeip never creates NICs there). Unset: only the primary
   * interface and managed ones are used.
   */
  readonly pooled?: boolean;
  /**
   * Address slots (secondary addresses, prefixes) the pool may use on this interface in total,
   * when others hold some of the slots the limits give (Azure: IP configurations someone else
   * added). Unset: every slot but the interface's primary address.
   */
  readonly capacity?: number;
}

/** What the instance type allows. */
export interface InterfaceLimits {
  /** Interfaces the node may have attached, primary included. */
  readonly maxInterfaces: number;
  /**
   * IPv4 address slots per interface, the interface's primary address included. A delegated
   * prefix takes one slot, as on AWS.
   */
  readonly ipv4PerInterface: number;
  /** vCPUs of the instance type, when known: the max-pods ceiling depends on it. */
  readonly vcpus?: number;
}

/** What the provider reports about the node at start-up and on each reconcile. */
export interface NodeSnapshot {
  /** Instance id (AWS) or VM resource id (Azure). */
  readonly instanceId: string;
  readonly instanceType: string;
  /** The node's primary IPv4 address (primary interface's primary address). */
  readonly primaryIp: string;
  /** CIDRs of the VPC / VNet: destinations that are not SNATed. */
  readonly vpcCidrs: readonly string[];
  readonly limits: InterfaceLimits;
  /** Attached interfaces, sorted by device index. */
  readonly interfaces: readonly CloudInterface[];
}

/** One interface as the instance itself sees it (AWS: the IMDS `macs/` tree), not the cloud's API. */
export interface ObservedInterface {
  readonly mac: string;
  readonly deviceIndex: number;
  /** Cloud id (`eni-…`). */
  readonly id: string;
  /** Every IPv4 address on the interface, its primary included, in any order. */
  readonly addresses: readonly string[];
  /** Delegated IPv4 prefixes (`10.0.4.16/28`); empty when none. */
  readonly prefixes: readonly string[];
}

/** The node's interfaces as the instance sees them; see {@link CloudProvider.observeNode}. */
export interface NodeObservation {
  /** Every attached interface, in any order. */
  readonly interfaces: readonly ObservedInterface[];
  /** The VPC's CIDRs, when the provider reads them; compared with {@link NodeSnapshot.vpcCidrs}. */
  readonly vpcCidrs?: readonly string[];
}

/** Options for creating and attaching a new interface. */
export interface CreateInterfaceOptions {
  /** Free device index to attach at. */
  readonly deviceIndex: number;
  /** Secondary addresses to assign at creation (beside the interface's primary). */
  readonly secondaryCount: number;
  /** IPv4 prefixes to delegate at creation; only for providers with {@link CloudProvider.assignPrefixes}. */
  readonly prefixCount?: number;
}

/**
 * The narrow interface the daemon needs from a cloud. Implementations map every cloud error to a
 * {@link CloudError} with one of {@link CloudErrorCode}; the daemon branches on those codes only.
 */
export interface CloudProvider {
  /** Cloud name for logs and status (`aws`, `azure`). */
  readonly name: string;
  /**
   * Reads the node's identity, limits and attached interfaces. Idempotent; called at start-up and
   * by the reconciler.
   */
  describeNode(): Promise<NodeSnapshot>;
  /**
   * Assigns `count` more secondary addresses to an attached interface and returns exactly the new
   * ones; a provider with a per-call cap (Azure's batch size) may assign fewer, and the pool asks
   * again. Not idempotent: a retry after an unknown outcome must re-read with describeNode.
   */
  assignAddresses(interfaceId: string, count: number): Promise<string[]>;
  /**
   * Creates an interface in the node's subnet, attaches it at `deviceIndex`, marks it
   * delete-on-termination and tags it as ours. Returns it with its secondary addresses.
   * On a failure after creation it deletes what it created before throwing.
   */
  createInterface(options: CreateInterfaceOptions): Promise<CloudInterface>;
  /** Removes secondary addresses from an interface. Addresses already gone are not an error. */
  releaseAddresses(interfaceId: string, addresses: readonly string[]): Promise<void>;
  /** Detaches and deletes an interface we created. An interface already gone is not an error. */
  deleteInterface(interfaceId: string): Promise<void>;
  /**
   * Optional. Cloud operations in flight that must survive a daemon restart (Azure: a NIC PUT
   * whose long-running operation has not finished), as JSON-safe data for the checkpoint's
   * `providerState`; undefined when there are none. Synchronous: read when a checkpoint is written.
   */
  resumeState?(): unknown;
  /**
   * Optional. Hands back what {@link resumeState} returned before a restart. Called once, before
   * the first describeNode; does no I/O. The provider finishes those operations (without
   * repeating them) before it reads or changes the interfaces they touch. `savedBy`: the instance
   * id the checkpoint was written on (NodeSnapshot.instanceId); once the provider knows its own
   * instance, it drops state saved by another one (a checkpoint on a disk carried to a new
   * instance) rather than finish or undo another node's work. Undefined: not known, trusted.
   */
  restoreState?(state: unknown, savedBy?: string): void;
  /**
   * Optional. Registers the function the provider calls when its resume state changed and must be
   * on disk before it goes on (it resolves once the checkpoint is written).
   */
  onResumeStateChange?(save: () => Promise<void>): void;
  /**
   * Delegates `count` more IPv4 prefixes to an attached interface and returns exactly the new
   * ones as CIDRs. Present only on clouds with prefix delegation. Not idempotent (as
   * assignAddresses). Throws SubnetExhausted with `fragmented: true` when the subnet has free
   * addresses but no free aligned block: single addresses may still be assigned.
   */
  assignPrefixes?(interfaceId: string, count: number): Promise<string[]>;
  /** Removes delegated prefixes from an interface. Prefixes already gone are not an error. */
  releasePrefixes?(interfaceId: string, prefixes: readonly string[]): Promise<void>;
  /**
   * Deletes interfaces this node's provider created that are left detached: ours (tagged), older
   * than a grace period, and belonging to this node or to a node that no longer exists. Never
   * touches an untagged interface or one marked not to be managed. Returns the ids deleted.
   * Safe to call concurrently from every node.
   */
  collectLeakedInterfaces?(): Promise<string[]>;
  /**
   * Optional. Reads the node's attached interfaces with their addresses and prefixes from what
   * the instance itself sees (AWS: IMDS), making no call to the cloud's API and drawing from no
   * API budget. The reconciler compares it with the pool and calls describeNode only when they
   * differ. The view may lag the API by a second or two after a change. Idempotent; throws a
   * CloudError when the metadata cannot be read.
   */
  observeNode?(): Promise<NodeObservation>;
  /**
   * Optional. When the cloud last throttled one of this node's requests that draw from the budget
   * a release spends (AWS: ENI mutations, attach/detach; not describes), ms on the provider's
   * clock, even one a retry then got through: that budget is short, and the pool defers releases,
   * which draw from it as every node's grows do.
   */
  throttledAtMs?(): number | undefined;
}

/** The small, stable set of cloud failure kinds the pool and reconciler branch on. */
export type CloudErrorCode =
  | 'SubnetExhausted'
  | 'InterfaceLimit'
  | 'AddressLimit'
  | 'Throttled'
  | 'NotFound'
  | 'Unauthorized'
  | 'InvalidRequest'
  | 'Transient';

export class CloudError extends Error {
  override readonly name = 'CloudError';
  readonly code: CloudErrorCode;
  /** The cloud's own error code (`InsufficientFreeAddressesInSubnet`, …), for logs and replies. */
  readonly cloudCode: string | undefined;
  readonly retryable: boolean;
  /** Milliseconds the cloud asked us to wait, when it said (Azure `Retry-After`). */
  readonly retryAfterMs: number | undefined;
  /**
   * With SubnetExhausted: the subnet still has free addresses, only no free aligned block for a
   * prefix (AWS `InsufficientCidrBlocks`). Single addresses may still be assigned.
   */
  readonly fragmented: boolean;

  constructor(
    code: CloudErrorCode,
    message: string,
    options: { cloudCode?: string; retryAfterMs?: number; fragmented?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.cloudCode = options.cloudCode;
    this.retryAfterMs = options.retryAfterMs;
    this.fragmented = options.fragmented === true;
    this.retryable = code === 'Throttled' || code === 'Transient';
  }
}
