/**
 * The emulated EC2 account, in-process on simulated time: the emulator's own state model
 * (limits, subnet exhaustion, real error codes) behind a CloudProvider that pays realistic
 * latencies on the virtual clock and draws from the account's shared throttling buckets, the
 * way every node of a cluster shares one account's EC2 request budget. Each node also runs the
 * AWS provider's client-side request limiter, and can observe itself through a lagging IMDS view
 * (counted apart: IMDS reads are not EC2 calls).
 */
import {
  CloudError,
  type CloudInterface,
  type CloudProvider,
  type CreateInterfaceOptions,
  type NodeObservation,
  type NodeSnapshot,
} from '../../src/core/types.js';
import { Ec2ApiError } from '../../src/emulator/aws/errors.js';
import { Ec2State } from '../../src/emulator/aws/ec2-state.js';
import type { EniRecord } from '../../src/emulator/aws/ec2-model.js';
import { imdsInterfaces } from '../../src/emulator/aws/ec2-views.js';
import { seededIdSource } from '../../src/emulator/aws/ids.js';
import { ImdsHistory } from '../../src/emulator/aws/imds-history.js';
import { instanceTypeTable } from '../../src/emulator/aws/instance-types.js';
import { THROTTLE_BUCKETS, TokenBucket, type ThrottleClass } from '../../src/emulator/aws/token-bucket.js';
import { EC2_ACTION_CLASSES } from '../../src/core/ec2-request-classes.js';
import { Ec2RequestLimiter, requestClassOf } from '../../src/providers/aws/ec2-request-limiter.js';
import { classifyEc2Error } from '../../src/providers/aws/error-mapping.js';
import { MANAGED_TAG_KEY, interfaceTags, isManaged } from '../../src/providers/aws/tags.js';
import { seededRandom } from './traces.js';
import type { VirtualClock } from './virtual-clock.js';

/** The AWS SDK's standard retry mode: attempts per call, the first included. */
const SDK_MAX_ATTEMPTS = 3;
/** The SDK's base delay before retrying a throttled request (@smithy/core `Retry.throttlingDelay`, v3.1169). */
const SDK_THROTTLING_DELAY_MS = 1_000;
/** Every Describe the simulated provider makes names its instance or ENI: EC2's "filtered" class. */
const FILTERED = { Filters: ['attachment.instance-id'] };

/** Latencies of EC2 calls in ms, as seen from a node (round trip plus the cloud's own work). */
export interface Ec2Latencies {
  readonly describe: number;
  readonly assign: number;
  readonly unassign: number;
  readonly create: number;
  readonly attach: number;
  /** After attach, until the instance sees the new interface (IMDS and the Linux link). */
  readonly attachVisible: number;
  readonly modify: number;
  readonly detach: number;
  readonly delete: number;
  /** After a change, until IMDS shows it (real: ~1–2 s). */
  readonly imdsLag: number;
  /** Reading the node's `macs/` tree from IMDS (a dozen local GETs). */
  readonly imdsRead: number;
}

export const DEFAULT_LATENCIES: Ec2Latencies = {
  describe: 150,
  assign: 300,
  unassign: 300,
  create: 1000,
  attach: 3000,
  attachVisible: 2000,
  modify: 300,
  detach: 2000,
  delete: 500,
  imdsLag: 1500,
  imdsRead: 20,
};

export const MUTATING_ACTIONS = new Set([
  'AssignPrivateIpAddresses',
  'UnassignPrivateIpAddresses',
  'CreateNetworkInterface',
  'DeleteNetworkInterface',
  'ModifyNetworkInterfaceAttribute',
  'AttachNetworkInterface',
  'DetachNetworkInterface',
]);

export interface SimAccountOptions {
  readonly clock: VirtualClock;
  readonly latencies?: Partial<Ec2Latencies>;
  /** Enforce EC2's per-account token buckets. */
  readonly throttling?: boolean;
  readonly subnets?: readonly { cidr: string }[];
  readonly vpcCidr?: string;
}

/** One AWS account and region: the state, the shared buckets and the call counters. */
export class SimAccount {
  readonly state: Ec2State;
  readonly clock: VirtualClock;
  readonly latencies: Ec2Latencies;
  readonly calls = new Map<string, number>();
  readonly throttled = new Map<string, number>();
  /** Node observations read from IMDS (each a dozen GETs; not EC2 calls). */
  imdsReads = 0;
  readonly #buckets: Map<ThrottleClass, TokenBucket> | undefined;
  readonly #random = seededRandom(99);

  constructor(options: SimAccountOptions) {
    this.clock = options.clock;
    this.latencies = { ...DEFAULT_LATENCIES, ...options.latencies };
    this.state = new Ec2State({
      region: 'us-east-1',
      accountId: '111122223333',
      vpcCidr: options.vpcCidr ?? '10.0.0.0/16',
      subnets: options.subnets ?? [{ cidr: '10.0.0.0/16' }],
      clock: options.clock.now,
      ids: seededIdSource(7),
      detachDelayMs: this.latencies.detach,
      instanceTypes: instanceTypeTable(),
    });
    this.#buckets =
      options.throttling === true
        ? new Map(Object.entries(THROTTLE_BUCKETS).map(([name, b]) => [name as ThrottleClass, new TokenBucket(b.capacity, b.refillPerSecond, options.clock.now)]))
        : undefined;
  }

  /**
   * Runs one EC2 action as the AWS provider does: each attempt first waits for a token of the
   * node's client-side limiter, then draws from the account's bucket; a throttled attempt empties
   * the node's bucket of that class and is retried as the SDK's standard mode does (full jitter,
   * 1 s base doubling, 3 attempts in all); then the latency on the virtual clock, then the state
   * change.
   */
  async call<T>(action: string, latencyMs: number, run: () => T, limiter?: Ec2RequestLimiter): Promise<T> {
    // The describes the simulated nodes make are filtered (by instance), hence 'describe'.
    const bucket = this.#buckets?.get(EC2_ACTION_CLASSES[action] ?? 'describe');
    const requestClass = requestClassOf(action, FILTERED);
    for (let attempt = 1; ; attempt += 1) {
      await limiter?.acquire(requestClass);
      this.calls.set(action, (this.calls.get(action) ?? 0) + 1);
      if (bucket === undefined || bucket.take()) break;
      this.throttled.set(action, (this.throttled.get(action) ?? 0) + 1);
      limiter?.throttled(requestClass);
      if (attempt >= SDK_MAX_ATTEMPTS) {
        await this.clock.sleep(50);
        throw new CloudError('Throttled', `EC2 throttled ${action} (RequestLimitExceeded)`, { cloudCode: 'RequestLimitExceeded' });
      }
      await this.clock.sleep(this.#random() * Math.min(20_000, SDK_THROTTLING_DELAY_MS * 2 ** (attempt - 1)));
    }
    await this.clock.sleep(latencyMs);
    try {
      return run();
    } catch (error) {
      if (error instanceof Ec2ApiError) {
        throw new CloudError(classifyEc2Error(error.code, error.httpStatus), `${action}: ${error.code}: ${error.message}`, { cloudCode: error.code });
      }
      throw error;
    }
  }

  totalCalls(filter: (action: string) => boolean = () => true): number {
    let sum = 0;
    for (const [action, n] of this.calls) if (filter(action)) sum += n;
    return sum;
  }

  launch(instanceType: string): string {
    return this.state.launchInstance({ instanceType }).instance.id;
  }
}

/** The kept ENI if it still exists unattached. */
function keptEni(find: () => ReturnType<SimAccount['state']['eni']>): ReturnType<SimAccount['state']['eni']> | undefined {
  try {
    const eni = find();
    return eni.attachment === undefined ? eni : undefined;
  } catch {
    return undefined;
  }
}

/** The CloudProvider a simulated node's pool manager talks to. */
export class SimEc2Provider implements CloudProvider {
  readonly name = 'aws-sim';
  readonly #account: SimAccount;
  readonly #instanceId: string;
  readonly #limiter: Ec2RequestLimiter;
  /** An ENI created for this node whose attach was throttled. */
  #unattached: string | undefined;
  /** What this instance's IMDS shows over time: each change, visible `imdsLag` later. */
  readonly #imds: ImdsHistory;

  constructor(account: SimAccount, instanceId: string) {
    this.#account = account;
    this.#instanceId = instanceId;
    this.#limiter = new Ec2RequestLimiter({ clock: account.clock.now, sleep: account.clock.sleep });
    this.#imds = new ImdsHistory(account.latencies.imdsLag);
    this.#imdsRecord();
  }

  /** This provider without observeNode: every reconcile describes (the behaviour before it). */
  describeOnly(): CloudProvider {
    return {
      name: this.name,
      describeNode: () => this.describeNode(),
      assignAddresses: (interfaceId, count) => this.assignAddresses(interfaceId, count),
      assignPrefixes: (interfaceId, count) => this.assignPrefixes(interfaceId, count),
      releasePrefixes: (interfaceId, prefixes) => this.releasePrefixes(interfaceId, prefixes),
      createInterface: (options) => this.createInterface(options),
      releaseAddresses: (interfaceId, addresses) => this.releaseAddresses(interfaceId, addresses),
      deleteInterface: (interfaceId) => this.deleteInterface(interfaceId),
      throttledAtMs: () => this.throttledAtMs(),
    };
  }

  /** When the account last throttled one of this node's requests (through its limiter, as the provider). */
  throttledAtMs(): number | undefined {
    return this.#limiter.lastThrottledAtMs;
  }

  /** The node's interfaces from its (lagging) IMDS view; no EC2 call. */
  async observeNode(): Promise<NodeObservation> {
    const { clock, latencies } = this.#account;
    this.#account.imdsReads += 1;
    await clock.sleep(latencies.imdsRead);
    const view = this.#imds.viewAt(this.#instanceId, clock.now()) ?? [];
    return {
      interfaces: view.map((i) => ({ mac: i.mac, deviceIndex: i.deviceNumber, id: i.interfaceId, addresses: i.localIpv4s, prefixes: i.ipv4Prefixes ?? [] })),
      vpcCidrs: ['10.0.0.0/16'],
    };
  }

  /** One EC2 call through this node's limiter; a change is recorded for IMDS to show later. */
  async #call<T>(action: string, latencyMs: number, run: () => T): Promise<T> {
    try {
      return await this.#account.call(action, latencyMs, run, this.#limiter);
    } finally {
      if (MUTATING_ACTIONS.has(action)) this.#imdsRecord();
    }
  }

  #imdsRecord(): void {
    this.#imds.record(this.#instanceId, this.#account.clock.now(), imdsInterfaces(this.#account.state, this.#instanceId));
  }

  async describeNode(): Promise<NodeSnapshot> {
    const { state, latencies } = this.#account;
    const enis = await this.#call('DescribeNetworkInterfaces', latencies.describe, () => state.attachedTo(this.#instanceId));
    const type = state.instance(this.#instanceId).type;
    const interfaces = enis.filter((e) => e.attachment?.status === 'attached').map((e) => this.#view(e)).sort((a, b) => a.deviceIndex - b.deviceIndex);
    return {
      instanceId: this.#instanceId,
      instanceType: type.name,
      primaryIp: interfaces[0]?.primaryIp ?? '',
      vpcCidrs: ['10.0.0.0/16'],
      limits: { maxInterfaces: type.maxInterfaces, ipv4PerInterface: type.ipv4PerInterface, vcpus: type.vcpus },
      interfaces,
    };
  }

  assignAddresses(interfaceId: string, count: number): Promise<string[]> {
    const { state, latencies } = this.#account;
    return this.#call('AssignPrivateIpAddresses', latencies.assign, () => state.assignPrivateIpAddresses({ eniId: interfaceId, count }));
  }

  assignPrefixes(interfaceId: string, count: number): Promise<string[]> {
    const { state, latencies } = this.#account;
    return this.#call('AssignPrivateIpAddresses', latencies.assign, () => state.assignIpv4Prefixes({ eniId: interfaceId, ipv4PrefixCount: count }));
  }

  async releasePrefixes(interfaceId: string, prefixes: readonly string[]): Promise<void> {
    const { state, latencies } = this.#account;
    const present = state.eni(interfaceId).prefixes.filter((p) => prefixes.includes(p));
    if (present.length === 0) return;
    await this.#call('UnassignPrivateIpAddresses', latencies.unassign, () => state.unassignPrivateIpAddresses(interfaceId, [], present));
  }

  async createInterface(options: CreateInterfaceOptions): Promise<CloudInterface> {
    const { state, latencies, clock } = this.#account;
    const primary = state.attachedTo(this.#instanceId).find((e) => e.attachment?.deviceIndex === 0);
    if (primary === undefined) throw new CloudError('NotFound', `instance ${this.#instanceId} has no primary interface`);
    // As the provider (ec2-grow.ts): an ENI whose attach was throttled is attached by the next grow.
    const keptId = this.#unattached;
    this.#unattached = undefined;
    const kept = keptId === undefined ? undefined : keptEni(() => state.eni(keptId));
    const eni =
      kept ??
      (await this.#call('CreateNetworkInterface', latencies.create, () =>
        state.createNetworkInterface({
          subnetId: primary.subnetId,
          secondaryCount: options.secondaryCount > 0 ? options.secondaryCount : undefined,
          ipv4PrefixCount: (options.prefixCount ?? 0) > 0 ? options.prefixCount : undefined,
          tagSpecifications: [{ resourceType: 'network-interface', tags: interfaceTags({ instanceId: this.#instanceId, createdAt: new Date(clock.now()) }) }],
        }),
      ));
    let attachmentId: string | undefined;
    try {
      const attachment = await this.#call('AttachNetworkInterface', latencies.attach, () =>
        state.attachNetworkInterface({ eniId: eni.id, instanceId: this.#instanceId, deviceIndex: options.deviceIndex }),
      );
      attachmentId = attachment.id;
      await this.#call('ModifyNetworkInterfaceAttribute', latencies.modify, () =>
        state.modifyNetworkInterfaceAttribute({ eniId: eni.id, attachment: { attachmentId: attachment.id, deleteOnTermination: true } }),
      );
    } catch (error) {
      const throttled = error instanceof CloudError && error.code === 'Throttled';
      if (throttled && attachmentId === undefined) {
        this.#unattached = eni.id;
        throw error;
      }
      if (!throttled) {
        await this.deleteInterface(eni.id).catch(() => undefined);
        throw error;
      }
      // Attached; DeleteOnTermination is left for later (the provider sets it before its next create or at its next leaked-ENI sweep).
    }
    await clock.sleep(latencies.attachVisible);
    return this.#view(state.eni(eni.id));
  }

  async releaseAddresses(interfaceId: string, addresses: readonly string[]): Promise<void> {
    const { state, latencies } = this.#account;
    const present = state.eni(interfaceId).secondaryIps.filter((a) => addresses.includes(a));
    if (present.length === 0) return;
    await this.#call('UnassignPrivateIpAddresses', latencies.unassign, () => state.unassignPrivateIpAddresses(interfaceId, present));
  }

  async deleteInterface(interfaceId: string): Promise<void> {
    const { state, latencies, clock } = this.#account;
    const eni = state.eni(interfaceId);
    if (eni.attachment !== undefined) {
      const attachmentId = eni.attachment.id;
      await this.#call('DetachNetworkInterface', latencies.detach, () => state.detachNetworkInterface(attachmentId));
      while (state.eni(interfaceId).attachment !== undefined) await clock.sleep(500);
      this.#imdsRecord();
    }
    await this.#call('DeleteNetworkInterface', latencies.delete, () => state.deleteNetworkInterface(interfaceId));
  }

  #view(eni: EniRecord): CloudInterface {
    const subnet = this.#account.state.subnet(eni.subnetId);
    return {
      id: eni.id,
      mac: eni.mac,
      deviceIndex: eni.attachment?.deviceIndex ?? -1,
      subnetId: eni.subnetId,
      subnetCidr: subnet.allocator.cidr.text,
      primaryIp: eni.primaryIp,
      secondaryIps: [...eni.secondaryIps],
      prefixes: [...eni.prefixes],
      managed: isManaged(eni.tags) || eni.tags.has(MANAGED_TAG_KEY),
    };
  }
}
