import type { AttachmentRecord, EniRecord, InstanceRecord, SubnetRecord } from './ec2-model.js';
import {
  attachmentNotFound,
  Ec2ApiError,
  insufficientAddresses,
  invalidParameterValue,
  ipLimitExceeded,
  missingParameter,
} from './errors.js';
import { allocatePrefixes, checkRequestedPrefixes, claimPrefixes, releasePrefixes } from './eni-prefixes.js';
import { applyTags, removeTags } from './ec2-tags.js';
import type { IdSource } from './ids.js';
import { ID_PATTERNS, macFrom } from './ids.js';
import type { Ec2Tag, PrivateIpSpecification, TagSpecification } from './query-params.js';
import type { InstanceTypeInfo } from './instance-types.js';
import { maxIpv4PerInterface } from './instance-types.js';
import {
  allocateAddresses,
  checkRequestedAddresses,
  claimAddresses,
  releaseAddresses,
  takeNewEniAddresses,
} from './eni-addresses.js';
import { Ec2Network } from './ec2-network.js';
import type { Ec2NetworkOptions } from './ec2-network.js';

export interface Ec2StateOptions extends Ec2NetworkOptions {
  readonly clock: () => number;
  readonly ids: IdSource;
  /** How long a detach stays `detaching` before the interface is `available`. */
  readonly detachDelayMs: number;
  readonly instanceTypes: ReadonlyMap<string, InstanceTypeInfo>;
  /** Called after every successful mutation, including completion of an asynchronous detach. */
  readonly onChange?: (at: number) => void;
}

export interface CreateEniRequest {
  readonly subnetId: string;
  readonly description?: string | undefined;
  readonly securityGroupIds?: readonly string[] | undefined;
  readonly secondaryCount?: number | undefined;
  readonly privateIp?: string | undefined;
  readonly privateIpSpecs?: readonly PrivateIpSpecification[] | undefined;
  readonly tagSpecifications?: readonly TagSpecification[] | undefined;
  readonly ipv4PrefixCount?: number | undefined;
  readonly ipv4Prefixes?: readonly string[] | undefined;
}

export interface AssignRequest {
  readonly eniId: string;
  readonly count?: number | undefined;
  readonly addresses?: readonly string[] | undefined;
  readonly allowReassignment?: boolean | undefined;
  readonly ipv4PrefixCount?: number | undefined;
  readonly ipv4Prefixes?: readonly string[] | undefined;
}

export interface ModifyEniRequest {
  readonly eniId: string;
  readonly attachment?: { readonly attachmentId: string; readonly deleteOnTermination: boolean } | undefined;
  readonly description?: string | undefined;
  readonly securityGroupIds?: readonly string[] | undefined;
}

/**
 * The emulated EC2 account: VPC, subnets, instances and ENIs, with EC2's limits and errors.
 * Pure and synchronous: every method runs atomically on the event loop, reads time from the
 * injected clock, and throws {@link Ec2ApiError} with EC2's code and message on failure.
 */
export class Ec2State extends Ec2Network {
  private readonly clock: () => number;
  private readonly ids: IdSource;
  private readonly detachDelayMs: number;
  readonly instanceTypes: ReadonlyMap<string, InstanceTypeInfo>;
  private readonly unattachedIpLimit: number;
  private readonly onChange: ((at: number) => void) | undefined;
  private readonly enis = new Map<string, EniRecord>();
  private readonly instanceRecords = new Map<string, InstanceRecord>();

  constructor(options: Ec2StateOptions) {
    super(options, options.ids);
    this.clock = options.clock;
    this.ids = options.ids;
    this.detachDelayMs = options.detachDelayMs;
    this.instanceTypes = options.instanceTypes;
    this.unattachedIpLimit = maxIpv4PerInterface(options.instanceTypes);
    this.onChange = options.onChange;
  }

  networkInterfaces(): EniRecord[] {
    this.settle();
    return [...this.enis.values()];
  }

  instances(): InstanceRecord[] {
    this.settle();
    return [...this.instanceRecords.values()];
  }

  instanceType(name: string): InstanceTypeInfo {
    const info = this.instanceTypes.get(name);
    if (info === undefined) {
      throw new Ec2ApiError('InvalidInstanceType', `The following supplied instance types do not exist: [${name}]`);
    }
    return info;
  }

  /** Completes every detach whose delay has passed. Returns true when anything changed. */
  settle(): boolean {
    const now = this.clock();
    const due = [...this.enis.values()]
      .filter((eni) => eni.attachment?.detachCompletesAt !== undefined && eni.attachment.detachCompletesAt <= now)
      .sort((a, b) => (a.attachment?.detachCompletesAt ?? 0) - (b.attachment?.detachCompletesAt ?? 0));
    for (const eni of due) {
      const at = eni.attachment?.detachCompletesAt ?? now;
      eni.attachment = undefined;
      this.onChange?.(at);
    }
    return due.length > 0;
  }

  launchInstance(opts: { instanceType: string; subnetId?: string | undefined; securityGroupIds?: readonly string[] | undefined }): {
    instance: InstanceRecord;
    primaryEni: EniRecord;
  } {
    this.settle();
    const type = this.instanceType(opts.instanceType);
    const subnet = opts.subnetId === undefined ? this.defaultSubnet() : this.subnet(opts.subnetId);
    const groups = this.groups(opts.securityGroupIds);
    const now = this.clock();
    const instance: InstanceRecord = {
      id: this.uniqueId('i-', (id) => this.instanceRecords.has(id)),
      reservationId: `r-${this.ids.hex(17)}`,
      type,
      subnetId: subnet.id,
      az: subnet.az,
      securityGroups: groups,
      launchTime: now,
      imageId: `ami-${this.ids.hex(17)}`,
      iamRole: 'nativeip-node-role',
      tags: new Map(),
      state: 'running',
    };
    const eni = this.newEni(subnet, { description: 'Primary network interface', securityGroupIds: groups });
    eni.attachment = this.newAttachment(instance.id, 0, 0, true);
    this.instanceRecords.set(instance.id, instance);
    this.onChange?.(now);
    return { instance, primaryEni: eni };
  }

  terminateInstance(instanceId: string): void {
    this.settle();
    const instance = this.instance(instanceId);
    if (instance.state === 'terminated') return;
    instance.state = 'terminated';
    for (const eni of this.attachedTo(instanceId)) {
      if (eni.attachment?.deleteOnTermination === true) this.removeEni(eni);
      else eni.attachment = undefined;
    }
    this.onChange?.(this.clock());
  }

  createNetworkInterface(req: CreateEniRequest): EniRecord {
    this.settle();
    const subnet = this.subnet(req.subnetId);
    for (const spec of req.tagSpecifications ?? []) {
      if (spec.resourceType !== 'network-interface') {
        throw invalidParameterValue(`'${spec.resourceType}' is not a valid taggable resource type for this operation.`);
      }
    }
    const named = req.ipv4Prefixes ?? [];
    if (req.ipv4PrefixCount !== undefined && named.length > 0) {
      throw new Ec2ApiError('InvalidParameterCombination', 'Ipv4Prefixes and Ipv4PrefixCount cannot be specified together');
    }
    const prefixCount = req.ipv4PrefixCount ?? named.length;
    const slots = 1 + (req.secondaryCount ?? 0) + (req.privateIpSpecs?.filter((spec) => !spec.primary).length ?? 0) + prefixCount;
    if (slots > this.unattachedIpLimit) throw ipLimitExceeded();
    const bases = checkRequestedPrefixes(subnet, named);
    const eni = this.newEni(subnet, req);
    try {
      eni.prefixes = named.length > 0 ? claimPrefixes(subnet, bases) : allocatePrefixes(subnet, prefixCount);
    } catch (error) {
      this.removeEni(eni);
      throw error;
    }
    for (const spec of req.tagSpecifications ?? []) applyTags(eni.tags, spec.tags);
    this.onChange?.(this.clock());
    return eni;
  }

  attachNetworkInterface(req: { eniId: string; instanceId: string; deviceIndex: number; networkCardIndex?: number | undefined }): AttachmentRecord {
    this.settle();
    const eni = this.eni(req.eniId);
    const instance = this.instance(req.instanceId);
    if (instance.state !== 'running') {
      throw new Ec2ApiError('IncorrectInstanceState', `The instance '${instance.id}' is not in a valid state for this operation.`);
    }
    if (eni.attachment !== undefined) {
      throw new Ec2ApiError('InvalidNetworkInterface.InUse', `Interface: [${eni.id}] in use.`);
    }
    const cardIndex = req.networkCardIndex ?? 0;
    if (cardIndex >= instance.type.networkCards) {
      throw invalidParameterValue(`Network card index ${cardIndex} is not supported by instance type ${instance.type.name}.`);
    }
    if (this.subnet(eni.subnetId).az !== instance.az) {
      throw new Ec2ApiError(
        'InvalidParameterCombination',
        `You may not attach a network interface to an instance if they are not in the same availability zone`,
      );
    }
    const attached = this.attachedTo(instance.id);
    if (attached.some((e) => e.attachment?.deviceIndex === req.deviceIndex)) {
      throw invalidParameterValue(
        `Instance '${instance.id}' already has an interface attached at device index '${req.deviceIndex}'.`,
      );
    }
    if (attached.length >= instance.type.maxInterfaces) {
      throw new Ec2ApiError(
        'AttachmentLimitExceeded',
        `Interface count ${attached.length + 1} exceeds the limit for ${instance.type.name}`,
      );
    }
    if (1 + eni.secondaryIps.length + eni.prefixes.length > instance.type.ipv4PerInterface) {
      throw ipLimitExceeded();
    }
    eni.attachment = this.newAttachment(instance.id, req.deviceIndex, cardIndex, false);
    this.onChange?.(this.clock());
    return eni.attachment;
  }

  detachNetworkInterface(attachmentId: string): void {
    this.settle();
    const eni = this.eniByAttachment(attachmentId);
    const attachment = eni.attachment!;
    if (attachment.deviceIndex === 0) {
      throw new Ec2ApiError('OperationNotPermitted', 'The network interface at device index 0 cannot be detached.');
    }
    if (attachment.status === 'detaching') return;
    attachment.status = 'detaching';
    attachment.detachCompletesAt = this.clock() + this.detachDelayMs;
    this.onChange?.(this.clock());
  }

  deleteNetworkInterface(eniId: string): void {
    this.settle();
    const eni = this.eni(eniId);
    if (eni.attachment !== undefined) {
      throw new Ec2ApiError('InvalidNetworkInterface.InUse', `The network interface '${eni.id}' is currently in use.`);
    }
    this.removeEni(eni);
    this.onChange?.(this.clock());
  }

  /** Secondary addresses; a request for prefixes goes to {@link assignIpv4Prefixes}. */
  assignPrivateIpAddresses(req: AssignRequest): string[] {
    this.settle();
    if (req.ipv4PrefixCount !== undefined || (req.ipv4Prefixes?.length ?? 0) > 0) {
      throw invalidParameterValue('this request delegates prefixes: use assignIpv4Prefixes');
    }
    const eni = this.eni(req.eniId);
    const explicit = [...new Set(req.addresses ?? [])].filter((a) => a !== eni.primaryIp && !eni.secondaryIps.includes(a));
    if (req.count !== undefined && (req.addresses?.length ?? 0) > 0) {
      throw new Ec2ApiError(
        'InvalidParameterCombination',
        'PrivateIpAddress and SecondaryPrivateIpAddressCount cannot be specified together',
      );
    }
    if (req.count === undefined && (req.addresses?.length ?? 0) === 0) {
      throw missingParameter('PrivateIpAddress or SecondaryPrivateIpAddressCount');
    }
    const count = req.count ?? 0;
    if (req.count !== undefined && count < 1) {
      throw invalidParameterValue(`Value (${count}) for parameter SecondaryPrivateIpAddressCount is invalid. Expected at least 1.`);
    }
    if (this.slotsUsed(eni) + explicit.length + count > this.ipLimit(eni)) throw ipLimitExceeded();
    const subnet = this.subnet(eni.subnetId);
    const moves = checkRequestedAddresses(subnet, explicit, req.allowReassignment === true, (a) => this.holderOf(a));
    if (count > subnet.allocator.freeCount) throw insufficientAddresses();
    for (const [address, from] of moves) {
      from.secondaryIps = from.secondaryIps.filter((a) => a !== address);
      releaseAddresses(subnet, [address]);
    }
    const assigned = [...claimAddresses(subnet, explicit), ...allocateAddresses(subnet, count)];
    eni.secondaryIps.push(...assigned);
    this.onChange?.(this.clock());
    return assigned;
  }

  /** AssignPrivateIpAddresses with Ipv4PrefixCount or Ipv4Prefix.N: delegates /28 prefixes. */
  assignIpv4Prefixes(req: AssignRequest): string[] {
    this.settle();
    const eni = this.eni(req.eniId);
    if (req.count !== undefined || (req.addresses?.length ?? 0) > 0) {
      throw new Ec2ApiError(
        'InvalidParameterCombination',
        'Ipv4Prefixes or Ipv4PrefixCount cannot be specified with PrivateIpAddress or SecondaryPrivateIpAddressCount',
      );
    }
    const named = [...new Set(req.ipv4Prefixes ?? [])];
    if (req.ipv4PrefixCount !== undefined && named.length > 0) {
      throw new Ec2ApiError('InvalidParameterCombination', 'Ipv4Prefixes and Ipv4PrefixCount cannot be specified together');
    }
    const count = req.ipv4PrefixCount ?? named.length;
    if (count < 1) {
      throw invalidParameterValue(`Value (${count}) for parameter Ipv4PrefixCount is invalid. Expected at least 1.`);
    }
    if (this.slotsUsed(eni) + count > this.ipLimit(eni)) throw ipLimitExceeded();
    const subnet = this.subnet(eni.subnetId);
    const bases = checkRequestedPrefixes(subnet, named);
    const prefixes = named.length > 0 ? claimPrefixes(subnet, bases) : allocatePrefixes(subnet, count);
    eni.prefixes.push(...prefixes);
    this.onChange?.(this.clock());
    return prefixes;
  }

  unassignPrivateIpAddresses(eniId: string, addresses: readonly string[], prefixes: readonly string[] = []): void {
    this.settle();
    const eni = this.eni(eniId);
    if (addresses.length === 0 && prefixes.length === 0) throw missingParameter('PrivateIpAddress');
    if (prefixes.length > 0) {
      const unknown = prefixes.filter((p) => !eni.prefixes.includes(p));
      if (unknown.length > 0) {
        throw invalidParameterValue(`Some of the specified prefixes are not assigned to interface ${eni.id}: ${unknown.join(', ')}`);
      }
    }
    if (addresses.includes(eni.primaryIp)) {
      throw invalidParameterValue(`The primary private IP address ${eni.primaryIp} of ${eni.id} cannot be unassigned.`);
    }
    const missing = addresses.filter((a) => !eni.secondaryIps.includes(a));
    if (missing.length > 0) {
      throw invalidParameterValue(`Some of the specified addresses are not assigned to interface ${eni.id}: ${missing.join(', ')}`);
    }
    const subnet = this.subnet(eni.subnetId);
    eni.secondaryIps = eni.secondaryIps.filter((a) => !addresses.includes(a));
    releaseAddresses(subnet, new Set(addresses));
    eni.prefixes = eni.prefixes.filter((p) => !prefixes.includes(p));
    releasePrefixes(subnet, prefixes);
    this.onChange?.(this.clock());
  }

  modifyNetworkInterfaceAttribute(req: ModifyEniRequest): void {
    this.settle();
    const eni = this.eni(req.eniId);
    const given = [req.attachment, req.description, req.securityGroupIds].filter((v) => v !== undefined).length;
    if (given === 0) throw new Ec2ApiError('InvalidParameterCombination', 'No attributes specified.');
    if (given > 1) {
      throw new Ec2ApiError('InvalidParameterCombination', 'Fields for multiple attribute types specified: only one attribute can be modified per call.');
    }
    if (req.attachment !== undefined) {
      if (eni.attachment?.id !== req.attachment.attachmentId) {
        throw attachmentNotFound(req.attachment.attachmentId);
      }
      eni.attachment.deleteOnTermination = req.attachment.deleteOnTermination;
    }
    if (req.description !== undefined) eni.description = req.description;
    if (req.securityGroupIds !== undefined) eni.securityGroups = this.groups(req.securityGroupIds);
    this.onChange?.(this.clock());
  }

  createTags(resourceIds: readonly string[], tags: readonly Ec2Tag[]): void {
    this.settle();
    const targets = resourceIds.map((id) => this.taggable(id));
    for (const target of targets) applyTags(target, tags);
    this.onChange?.(this.clock());
  }

  deleteTags(resourceIds: readonly string[], tags: readonly Ec2Tag[]): void {
    this.settle();
    const targets = resourceIds.map((id) => this.taggable(id));
    for (const target of targets) removeTags(target, tags);
    this.onChange?.(this.clock());
  }

  eni(id: string): EniRecord {
    if (!ID_PATTERNS.networkInterface.test(id)) {
      throw new Ec2ApiError('InvalidNetworkInterfaceID.Malformed', `Invalid id: "${id}" (expecting "eni-...")`);
    }
    const eni = this.enis.get(id);
    if (eni === undefined) {
      throw new Ec2ApiError('InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${id}' does not exist`);
    }
    return eni;
  }

  instance(id: string): InstanceRecord {
    if (!ID_PATTERNS.instance.test(id)) {
      throw new Ec2ApiError('InvalidInstanceID.Malformed', `Invalid id: "${id}" (expecting "i-...")`);
    }
    const instance = this.instanceRecords.get(id);
    if (instance === undefined) throw new Ec2ApiError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
    return instance;
  }

  /** Interfaces attached (or detaching) to an instance, by device index. */
  attachedTo(instanceId: string): EniRecord[] {
    return [...this.enis.values()]
      .filter((e) => e.attachment?.instanceId === instanceId)
      .sort((a, b) => (a.attachment?.deviceIndex ?? 0) - (b.attachment?.deviceIndex ?? 0));
  }

  private eniByAttachment(attachmentId: string): EniRecord {
    for (const eni of this.enis.values()) {
      if (eni.attachment?.id === attachmentId) return eni;
    }
    throw attachmentNotFound(attachmentId);
  }

  /** Address slots an interface uses: its primary, each secondary, and one per prefix. */
  private slotsUsed(eni: EniRecord): number {
    return 1 + eni.secondaryIps.length + eni.prefixes.length;
  }

  private ipLimit(eni: EniRecord): number {
    if (eni.attachment === undefined) return this.unattachedIpLimit;
    return this.instanceRecords.get(eni.attachment.instanceId)?.type.ipv4PerInterface ?? this.unattachedIpLimit;
  }

  private newEni(subnet: SubnetRecord, req: Omit<CreateEniRequest, 'subnetId'>): EniRecord {
    const { primaryIp, secondaryIps } = takeNewEniAddresses(subnet, req, this.unattachedIpLimit, (a) => this.holderOf(a));
    const eni: EniRecord = {
      id: this.uniqueId('eni-', (id) => this.enis.has(id)),
      subnetId: subnet.id,
      mac: this.uniqueMac(),
      createdAt: this.clock(),
      description: req.description ?? '',
      securityGroups: this.groups(req.securityGroupIds),
      primaryIp,
      secondaryIps,
      prefixes: [],
      tags: new Map(),
      attachment: undefined,
    };
    this.enis.set(eni.id, eni);
    return eni;
  }

  private newAttachment(instanceId: string, deviceIndex: number, networkCardIndex: number, deleteOnTermination: boolean): AttachmentRecord {
    return {
      id: `eni-attach-${this.ids.hex(17)}`,
      instanceId,
      deviceIndex,
      networkCardIndex,
      attachTime: this.clock(),
      status: 'attached',
      deleteOnTermination,
      detachCompletesAt: undefined,
    };
  }

  private removeEni(eni: EniRecord): void {
    const subnet = this.subnet(eni.subnetId);
    releaseAddresses(subnet, [eni.primaryIp, ...eni.secondaryIps]);
    releasePrefixes(subnet, eni.prefixes);
    this.enis.delete(eni.id);
  }

  private holderOf(address: string): EniRecord | undefined {
    for (const eni of this.enis.values()) {
      if (eni.primaryIp === address || eni.secondaryIps.includes(address)) return eni;
    }
    return undefined;
  }

  private taggable(id: string): Map<string, string> {
    if (id.startsWith('eni-')) return this.eni(id).tags;
    if (id.startsWith('i-')) return this.instance(id).tags;
    if (id.startsWith('subnet-')) return this.subnet(id).tags;
    if (id === this.vpcId) return this.vpcTags;
    throw new Ec2ApiError('InvalidID', `The ID '${id}' is not valid`);
  }

  private uniqueMac(): string {
    const used = new Set([...this.enis.values()].map((e) => e.mac));
    let mac = macFrom(this.ids);
    while (used.has(mac)) mac = macFrom(this.ids);
    return mac;
  }
}
