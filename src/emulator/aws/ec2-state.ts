import type { AttachmentRecord, EniRecord, InstanceRecord, SubnetRecord } from './ec2-model.js';
import { attachmentNotFound, Ec2ApiError, invalidParameterValue, ipLimitExceeded } from './errors.js';
import { assignPrefixes, assignSecondaryAddresses, unassign, type AssignRequest, type EniRegistry } from './eni-assignment.js';
import { checkAttachable, dueDetaches, newAttachment, startDetach, type AttachmentPlacement } from './eni-attachment.js';
import { allocatePrefixes, checkRequestedPrefixes, claimPrefixes, releasePrefixes } from './eni-prefixes.js';
import { applyTags, removeTags } from './ec2-tags.js';
import type { IdSource } from '../shared/ids.js';
import { macFrom } from '../shared/ids.js';
import { ID_PATTERNS } from './ids.js';
import type { Ec2Tag, PrivateIpSpecification, TagSpecification } from './query-params.js';
import type { InstanceTypeInfo } from './instance-types.js';
import { maxIpv4PerInterface } from './instance-types.js';
import { releaseAddresses, takeNewEniAddresses } from './eni-addresses.js';
import { Ec2Network } from './ec2-network.js';
import { ClientTokens } from './client-tokens.js';
import type { Ec2NetworkOptions } from './ec2-network.js';

export type { AssignRequest } from './eni-assignment.js';

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
  /** CreateNetworkInterface's idempotency tokens; a repeat answers the ENI as it is now (or was last). */
  readonly clientTokens = new ClientTokens<EniRecord>();
  private readonly registry: EniRegistry = {
    eni: (id) => this.eni(id),
    subnet: (id) => this.subnet(id),
    ipLimit: (eni) => this.ipLimit(eni),
    holderOf: (address) => this.holderOf(address),
  };

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
    const due = dueDetaches(this.enis.values(), now);
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
    eni.attachment = this.newAttachment({ instanceId: instance.id, deviceIndex: 0, networkCardIndex: 0, deleteOnTermination: true });
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
    const networkCardIndex = req.networkCardIndex ?? 0;
    const eniAz = this.subnet(eni.subnetId).az;
    checkAttachable({ eni, instance, eniAz, attached: this.attachedTo(instance.id), deviceIndex: req.deviceIndex, networkCardIndex });
    eni.attachment = this.newAttachment({ instanceId: instance.id, deviceIndex: req.deviceIndex, networkCardIndex, deleteOnTermination: false });
    this.onChange?.(this.clock());
    return eni.attachment;
  }

  detachNetworkInterface(attachmentId: string): void {
    this.settle();
    const eni = this.eniByAttachment(attachmentId);
    if (startDetach(eni.attachment!, this.clock(), this.detachDelayMs)) this.onChange?.(this.clock());
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
    const assigned = assignSecondaryAddresses(this.registry, req);
    this.onChange?.(this.clock());
    return assigned;
  }

  /** AssignPrivateIpAddresses with Ipv4PrefixCount or Ipv4Prefix.N: delegates /28 prefixes. */
  assignIpv4Prefixes(req: AssignRequest): string[] {
    this.settle();
    const prefixes = assignPrefixes(this.registry, req);
    this.onChange?.(this.clock());
    return prefixes;
  }

  unassignPrivateIpAddresses(eniId: string, addresses: readonly string[], prefixes: readonly string[] = []): void {
    this.settle();
    unassign(this.registry, eniId, addresses, prefixes);
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

  private newAttachment(placement: AttachmentPlacement): AttachmentRecord {
    return newAttachment(`eni-attach-${this.ids.hex(17)}`, this.clock(), placement);
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
