/**
 * The EC2 calls the AWS provider makes, as the provider wants them: one method per call, plain
 * records in and out, CloudErrors only. The provider depends on this interface, never on a
 * client: Ec2Gateway (ec2-gateway.ts) implements it over the AWS SDK (the daemon), and anything else may
 * stand in for EC2 (the churn simulators bind it to the emulator's state in-process on simulated
 * time). Cilium's `EC2API` is the model: the consumer owns the interface, backends implement it.
 *
 * Every method is one EC2 action (DescribeNetworkInterfaces pages included) after the backend's
 * own retries (the SDK's standard mode, 3 attempts by default): a failure that reaches the
 * provider is final for this call, and the pool's backoff takes over. Every failure is a
 * CloudError whose `cloudCode` is EC2's error code (`RequestLimitExceeded`,
 * `InvalidNetworkInterfaceID.NotFound`, …) and whose code is error-mapping.ts's mapping of it; a
 * request that got no answer is Transient (it may have been applied).
 */
import type { InterfaceLimits } from '../../core/types.js';
import type { EniRecord } from './ec2-records.js';
import type { Tag } from './tags.js';

export interface CreateEniRequest {
  readonly subnetId: string;
  readonly securityGroupIds: readonly string[];
  readonly secondaryCount: number;
  /** /28 prefixes to delegate at creation. */
  readonly prefixCount?: number | undefined;
  readonly description: string;
  readonly tags: readonly Tag[];
  readonly instanceId: string;
  /**
   * EC2's idempotency token: a create repeated with it (the SDK's own retries, a restart) returns
   * the ENI the first one made instead of a second ENI.
   * https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html
   */
  readonly clientToken?: string | undefined;
}

export interface Ec2Api {
  /**
   * When EC2 last throttled one of this node's ENI-mutation or attach/detach requests (even one a
   * retry then got through), ms on the backend's clock; undefined: never. Describes do not count.
   */
  readonly lastThrottledAtMs: number | undefined;

  /** DescribeInstanceTypes for one type: its ENI limits. Once, at discovery. Read-only. NotFound for an unknown type. */
  describeInstanceLimits(instanceType: string): Promise<InterfaceLimits>;

  /** DescribeNetworkInterfaces filtered by `attachment.instance-id`: every ENI EC2 reports attached (or attaching, detaching) to the instance. Read-only. */
  describeInstanceEnis(instanceId: string): Promise<EniRecord[]>;

  /** DescribeNetworkInterfaces of one ENI by id; undefined when EC2 does not know it (never NotFound). Read-only. */
  describeEni(interfaceId: string): Promise<EniRecord | undefined>;

  /** DescribeSubnets by id: subnet id → IPv4 CIDR, for the subnets EC2 knows. Read-only. */
  describeSubnetCidrs(subnetIds: readonly string[]): Promise<Map<string, string>>;

  /** DescribeNetworkInterfaces of detached (`available`) ENIs carrying every tag in `tags` (a value of `*` matches any value). Read-only. */
  describeAvailableTagged(tags: ReadonlyMap<string, string>): Promise<EniRecord[]>;

  /**
   * DescribeInstances: the state (`running`, `terminated`, …) of each instance EC2 still knows;
   * instances it does not know are absent from the map (never NotFound). Read-only.
   */
  instanceStates(instanceIds: readonly string[]): Promise<Map<string, string>>;

  /**
   * AssignPrivateIpAddresses with a count: returns the new secondary addresses. Not idempotent.
   * `subnetId` (the ENI's, when known) only names the subnet in a SubnetExhausted message.
   */
  assignAddresses(interfaceId: string, count: number, subnetId: string | undefined): Promise<string[]>;

  /** AssignPrivateIpAddresses with Ipv4PrefixCount: returns the new /28 prefixes. Not idempotent. */
  assignPrefixes(interfaceId: string, count: number, subnetId: string | undefined): Promise<string[]>;

  /** UnassignPrivateIpAddresses of addresses. EC2 refuses the whole call (InvalidParameterValue) when one is not assigned. */
  unassignAddresses(interfaceId: string, addresses: readonly string[]): Promise<void>;

  /** UnassignPrivateIpAddresses of prefixes; refused like {@link unassignAddresses}. */
  unassignPrefixes(interfaceId: string, prefixes: readonly string[]): Promise<void>;

  /** CreateNetworkInterface with its tags; idempotent with `clientToken`. */
  createEni(request: CreateEniRequest): Promise<EniRecord>;

  /**
   * AttachNetworkInterface on network card 0; returns the attachment id. Not idempotent: a repeat
   * of an attach that landed answers `InvalidNetworkInterface.InUse`.
   */
  attachEni(interfaceId: string, instanceId: string, deviceIndex: number): Promise<string>;

  /** ModifyNetworkInterfaceAttribute: DeleteOnTermination=true on the attachment. Idempotent. */
  setDeleteOnTermination(interfaceId: string, attachmentId: string): Promise<void>;

  /** DetachNetworkInterface: starts the detach; the ENI is `available` once it completes. */
  detachEni(interfaceId: string, attachmentId: string): Promise<void>;

  /** DeleteNetworkInterface of a detached ENI; `InvalidNetworkInterface.InUse` while attached. */
  deleteEni(interfaceId: string): Promise<void>;

  /** Releases the backend's resources (sockets). Called by the provider's close only for a backend it built itself. */
  destroy(): void;
}
