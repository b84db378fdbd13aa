/**
 * The emulated EC2 account in-process: the HTTP emulator's state model (limits, subnet exhaustion,
 * EC2's error codes, ClientToken idempotency), its per-account token buckets, its fault plan and
 * its per-action latencies, called as one typed method per EC2 action on an injected clock instead
 * of over the wire, so a simulator can run thousands of nodes on simulated time. Each instance has
 * an in-process IMDS that shows its interfaces as EC2 had them `imdsPropagationMs` ago.
 *
 * Answers are plain data in the shape of EC2's own (DescribeNetworkInterfaces' NetworkInterface in
 * camelCase, {@link Ec2InterfaceView}); failures are what EC2 would answer ({@link Ec2ApiError}:
 * code, message, HTTP status) or no answer at all ({@link Ec2NoAnswer}: a lost reply, a timeout).
 * What a client adds on top (retries, its own request limiter, mapping errors to its codes) is the
 * client's: this file knows no provider (the layering rule: emulators never import providers).
 */
import { throttleClass, Throttler } from './ec2-throttling.js';
import { FaultPlan, type FaultPlanSpec } from '../faults/fault-plan.js';
import { emulatorFaults, type EmulatorFaults } from '../faults/index.js';
import { requestFingerprint } from './client-tokens.js';
import { describeInstances, describeNetworkInterfaces, describeSubnets } from './ec2-describe.js';
import { decideEc2Fault, EC2_FAULT_KINDS, ec2FaultError } from './ec2-faults.js';
import { CallCounters } from './call-counters.js';
import { Ec2State } from './ec2-state.js';
import { imdsInterfaces, interfaceView, type Ec2InstanceTypeView, type Ec2InterfaceView } from './ec2-views.js';
import { Ec2ApiError } from './errors.js';
import { seededIdSource } from '../shared/ids.js';
import { ImdsHistory } from './imds-history.js';
import { lookup, metadataTree, type ImdsInstanceInfo } from './imds-tree.js';
import { instanceTypeTable } from './instance-types.js';
import type { Ec2Filter } from './query-params.js';

export { Ec2ApiError } from './errors.js';
export type { Ec2AttachmentView, Ec2InstanceTypeView, Ec2InterfaceView } from './ec2-views.js';

/** A request EC2 never answered: the reply was lost (`reset`) or did not come before the client gave up (`timeout`). */
export class Ec2NoAnswer extends Error {
  override readonly name = 'Ec2NoAnswer';
  readonly reason: 'reset' | 'timeout';

  constructor(action: string, reason: 'reset' | 'timeout') {
    super(reason === 'reset' ? `${action}: the connection was reset before the reply` : `${action}: no reply before the client gave up`);
    this.reason = reason;
  }
}

export interface Ec2BackendOptions {
  /** Epoch ms; the simulators' virtual clock. */
  readonly clock: () => number;
  /** Waits on the same clock. */
  readonly sleep: (ms: number) => Promise<void>;
  /** Default `us-east-1`. */
  readonly region?: string;
  /** Default `10.0.0.0/16`. */
  readonly vpcCidr?: string;
  /** Default one subnet, the whole VPC. */
  readonly subnets?: readonly { readonly cidr: string }[];
  /** Per EC2 action: waited before the action runs (a request's round trip and EC2's own work). Default 0. */
  readonly latencyMs?: Readonly<Partial<Record<string, number>>>;
  /** How long a detached interface stays `detaching`. Default 0. */
  readonly detachDelayMs?: number;
  /** How far each instance's IMDS lags EC2. Default 0. */
  readonly imdsPropagationMs?: number;
  /** One IMDS GET. Default 0. */
  readonly imdsLatencyMs?: number;
  /** Enforce EC2's per-account token buckets (RequestLimitExceeded, HTTP 503). Default off. */
  readonly throttling?: boolean;
  /** Faults to inject from the start; change them later through {@link Ec2Backend.faults}. */
  readonly faults?: FaultPlanSpec;
  /** How long a client waits for a request a `timeout` fault holds (for ever, or longer than this) before it gives up. Default 10 s, the provider's. */
  readonly clientTimeoutMs?: number;
  /** Seed of ids, MACs and the fault plan's draws. Default 7. */
  readonly seed?: number;
}

/** What a request names, for the throttling class, NotFound-after-create and the IMDS views it changes. */
interface Target {
  /** ENIs the request names. */
  readonly eniIds?: readonly string[];
  /** Instances whose interfaces the request changes, besides those of the named ENIs. */
  readonly instanceIds?: readonly string[];
  /** A Describe* with ids, filters or paging (EC2's "filtered" bucket). */
  readonly narrowed?: boolean;
  readonly mutates: boolean;
}

const DEFAULT_CLIENT_TIMEOUT_MS = 10_000;

export class Ec2Backend {
  readonly state: Ec2State;
  /** Requests per action, throttled ones included, and the throttled ones. */
  readonly counters = new CallCounters();
  /** IMDS GETs, by every instance; not EC2 calls. */
  imdsReads = 0;
  readonly faults: EmulatorFaults;
  readonly #options: Ec2BackendOptions;
  readonly #plan: FaultPlan;
  readonly #throttler: Throttler | undefined;
  readonly #history: ImdsHistory;
  readonly #instances = new Map<string, ImdsInstanceInfo>();
  /** Detaches in flight: their instance's IMDS view changes when they complete. */
  #detaching: { readonly instanceId: string; readonly at: number }[] = [];

  constructor(options: Ec2BackendOptions) {
    this.#options = options;
    const seed = options.seed ?? 7;
    this.state = new Ec2State({
      region: options.region ?? 'us-east-1',
      accountId: '111122223333',
      vpcCidr: options.vpcCidr ?? '10.0.0.0/16',
      subnets: options.subnets ?? [{ cidr: options.vpcCidr ?? '10.0.0.0/16' }],
      clock: options.clock,
      ids: seededIdSource(seed),
      detachDelayMs: options.detachDelayMs ?? 0,
      instanceTypes: instanceTypeTable(),
    });
    this.#plan = new FaultPlan(options.faults, () => seed);
    this.faults = emulatorFaults(this.#plan, EC2_FAULT_KINDS, '(in-process: no control URL)');
    this.#throttler = options.throttling === true ? new Throttler(options.clock) : undefined;
    this.#history = new ImdsHistory(options.imdsPropagationMs ?? 0);
  }

  /** Launches a running instance with its primary ENI at device 0 (no request, no latency). */
  launchInstance(instanceType: string): { readonly instanceId: string; readonly primaryEni: string; readonly primaryIp: string } {
    const { instance, primaryEni } = this.state.launchInstance({ instanceType });
    const subnet = this.state.subnet(instance.subnetId);
    this.#instances.set(instance.id, {
      instanceId: instance.id,
      instanceType: instance.type.name,
      imageId: instance.imageId,
      region: this.state.region,
      availabilityZone: instance.az,
      availabilityZoneId: subnet.azId,
      accountId: this.state.accountId,
      iamRole: instance.iamRole,
      launchTime: instance.launchTime,
    });
    this.#record(instance.id);
    return { instanceId: instance.id, primaryEni: primaryEni.id, primaryIp: primaryEni.primaryIp };
  }

  /** Calls that change something, summed; `filter` picks actions. */
  totalCalls(filter: (action: string) => boolean = () => true): number {
    let sum = 0;
    for (const [action, n] of this.counters.calls) if (filter(action)) sum += n;
    return sum;
  }

  describeInstanceTypes(names: readonly string[]): Promise<Ec2InstanceTypeView[]> {
    return this.#request('DescribeInstanceTypes', { narrowed: true, mutates: false }, () =>
      names.map((name) => {
        const type = this.state.instanceType(name);
        return { name: type.name, vcpus: type.vcpus, maxInterfaces: type.maxInterfaces, ipv4PerInterface: type.ipv4PerInterface };
      }),
    );
  }

  /** By ids, or by filters (EC2's names: `attachment.instance-id`, `status`, `tag:K`, `tag-key`, …). */
  describeNetworkInterfaces(request: { readonly ids?: readonly string[]; readonly filters?: readonly Ec2Filter[] }): Promise<Ec2InterfaceView[]> {
    const ids = request.ids ?? [];
    const filters = request.filters ?? [];
    return this.#request('DescribeNetworkInterfaces', { eniIds: ids, narrowed: ids.length > 0 || filters.length > 0, mutates: false }, (hidden) =>
      describeNetworkInterfaces(this.state, { ids, filters, maxResults: undefined, nextToken: undefined }, hidden).items.map((eni) => interfaceView(eni)),
    );
  }

  describeSubnets(ids: readonly string[]): Promise<{ readonly id: string; readonly cidr: string }[]> {
    return this.#request('DescribeSubnets', { narrowed: ids.length > 0, mutates: false }, () =>
      describeSubnets(this.state, { ids, filters: [], maxResults: undefined, nextToken: undefined }).items.map((s) => ({ id: s.id, cidr: s.allocator.cidr.text })),
    );
  }

  /** `InvalidInstanceID.NotFound` when any id is unknown, as EC2. */
  describeInstances(ids: readonly string[]): Promise<{ readonly id: string; readonly state: string }[]> {
    return this.#request('DescribeInstances', { narrowed: ids.length > 0, mutates: false }, () =>
      describeInstances(this.state, { ids, filters: [], maxResults: undefined, nextToken: undefined }).items.map((i) => ({ id: i.id, state: i.state })),
    );
  }

  /** With `count`: secondary addresses; with `ipv4PrefixCount`: /28 prefixes. Returns what was assigned. */
  assignPrivateIpAddresses(request: { readonly eniId: string; readonly count?: number; readonly ipv4PrefixCount?: number }): Promise<string[]> {
    const { eniId } = request;
    return this.#request('AssignPrivateIpAddresses', { eniIds: [eniId], mutates: true }, () =>
      request.ipv4PrefixCount === undefined
        ? this.state.assignPrivateIpAddresses({ eniId, count: request.count })
        : this.state.assignIpv4Prefixes({ eniId, ipv4PrefixCount: request.ipv4PrefixCount }),
    );
  }

  unassignPrivateIpAddresses(request: { readonly eniId: string; readonly addresses?: readonly string[]; readonly prefixes?: readonly string[] }): Promise<void> {
    return this.#request('UnassignPrivateIpAddresses', { eniIds: [request.eniId], mutates: true }, () =>
      this.state.unassignPrivateIpAddresses(request.eniId, request.addresses ?? [], request.prefixes ?? []),
    );
  }

  /** A repeat with the same `clientToken` and request answers the ENI the first one made. */
  createNetworkInterface(request: {
    readonly subnetId: string;
    readonly description?: string;
    readonly securityGroupIds?: readonly string[];
    readonly secondaryCount?: number;
    readonly ipv4PrefixCount?: number;
    readonly tags?: readonly { readonly key: string; readonly value: string }[];
    readonly clientToken?: string;
  }): Promise<Ec2InterfaceView> {
    const { clientToken, ...asked } = request;
    return this.#request('CreateNetworkInterface', { mutates: true }, () => {
      const fingerprint = requestFingerprint(Object.entries(asked).map(([key, value]) => [key, JSON.stringify(value)] as const));
      const eni = this.state.clientTokens.run('CreateNetworkInterface', clientToken, fingerprint, () =>
        this.state.createNetworkInterface({
          subnetId: request.subnetId,
          description: request.description,
          securityGroupIds: request.securityGroupIds,
          secondaryCount: request.secondaryCount,
          ipv4PrefixCount: request.ipv4PrefixCount,
          tagSpecifications: request.tags === undefined ? undefined : [{ resourceType: 'network-interface', tags: request.tags }],
        }),
      );
      return interfaceView(eni);
    });
  }

  /** Returns the attachment id. */
  attachNetworkInterface(request: { readonly eniId: string; readonly instanceId: string; readonly deviceIndex: number; readonly networkCardIndex?: number }): Promise<string> {
    return this.#request('AttachNetworkInterface', { eniIds: [request.eniId], instanceIds: [request.instanceId], mutates: true }, () => this.state.attachNetworkInterface(request).id);
  }

  detachNetworkInterface(attachmentId: string): Promise<void> {
    const eni = this.state.networkInterfaces().find((e) => e.attachment?.id === attachmentId);
    return this.#request('DetachNetworkInterface', { eniIds: eni === undefined ? [] : [eni.id], mutates: true }, () => {
      this.state.detachNetworkInterface(attachmentId);
      const attachment = eni?.attachment;
      if (attachment?.detachCompletesAt !== undefined) this.#detaching.push({ instanceId: attachment.instanceId, at: attachment.detachCompletesAt });
    });
  }

  deleteNetworkInterface(eniId: string): Promise<void> {
    return this.#request('DeleteNetworkInterface', { eniIds: [eniId], mutates: true }, () => this.state.deleteNetworkInterface(eniId));
  }

  modifyNetworkInterfaceAttribute(request: { readonly eniId: string; readonly attachment: { readonly attachmentId: string; readonly deleteOnTermination: boolean } }): Promise<void> {
    return this.#request('ModifyNetworkInterfaceAttribute', { eniIds: [request.eniId], mutates: true }, () => this.state.modifyNetworkInterfaceAttribute(request));
  }

  /**
   * One GET of the instance's IMDS (`/latest/meta-data/…`), as it shows the instance now: status
   * 200 and the body, or 404. Session tokens are not modelled. Counted in {@link imdsReads}.
   */
  async imdsGet(instanceId: string, path: string): Promise<{ readonly status: number; readonly body: string }> {
    this.imdsReads += 1;
    await this.#wait(this.#options.imdsLatencyMs ?? 0);
    this.#completeDetaches();
    const info = this.#instances.get(instanceId);
    const interfaces = this.#history.viewAt(instanceId, this.#options.clock());
    const meta = '/latest/meta-data';
    if (info === undefined || interfaces === undefined || !(path === meta || path.startsWith(`${meta}/`))) return { status: 404, body: 'Not Found' };
    const body = lookup(metadataTree(info, interfaces, '{}'), path.slice(meta.length));
    return body === undefined ? { status: 404, body: 'Not Found' } : { status: 200, body };
  }

  /**
   * One request as the HTTP emulator serves it (ec2-server.ts): counted, then the fault plan, the
   * account's bucket, the action's latency, the action on the state, and the fault's delivery.
   */
  async #request<T>(action: string, target: Target, run: (hidden: ReadonlySet<string> | undefined) => T): Promise<T> {
    this.counters.bump(this.counters.calls, action);
    const fault = decideEc2Fault(this.#plan, this.state, this.#options.clock, action, target.eniIds ?? []);
    const rule = fault.rule;
    const giveUpMs = this.#options.clientTimeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS;
    if (rule?.kind === 'timeout' && !rule.applied) {
      await this.#wait(Math.min(rule.delayMs ?? giveUpMs, giveUpMs));
      if (rule.delayMs === undefined || rule.delayMs >= giveUpMs) throw new Ec2NoAnswer(action, 'timeout');
    }
    const injected = rule === undefined ? undefined : ec2FaultError(rule, fault.youngNamed);
    if (injected !== undefined) throw injected;
    if (this.#throttler !== undefined && !this.#throttler.admit(throttleClass(action, target.narrowed === true))) {
      this.counters.bump(this.counters.throttled, action);
      throw new Ec2ApiError('RequestLimitExceeded', 'Request limit exceeded.', 503);
    }
    await this.#wait(this.#options.latencyMs?.[action] ?? 0);
    const touched = target.mutates ? this.#instancesOf(target) : [];
    let result: T;
    try {
      result = run(fault.hidden);
    } finally {
      if (target.mutates) for (const instanceId of new Set([...touched, ...this.#instancesOf(target)])) this.#record(instanceId);
    }
    switch (rule?.kind) {
      case 'replyLost':
        throw new Ec2NoAnswer(action, 'reset');
      case 'latency':
        await this.#wait(rule.delayMs);
        break;
      case 'timeout':
        if (rule.applied) {
          await this.#wait(Math.min(rule.delayMs ?? giveUpMs, giveUpMs));
          if (rule.delayMs === undefined || rule.delayMs >= giveUpMs) throw new Ec2NoAnswer(action, 'timeout');
        }
        break;
      default:
    }
    return result;
  }

  /** Instances whose interfaces the request changes: the named ones, and those the named ENIs are attached to. */
  #instancesOf(target: Target): string[] {
    const out = [...(target.instanceIds ?? [])];
    for (const id of target.eniIds ?? []) {
      try {
        const instanceId = this.state.eni(id).attachment?.instanceId;
        if (instanceId !== undefined) out.push(instanceId);
      } catch {
        // Unknown or malformed id: the request fails and changes nothing.
      }
    }
    return out;
  }

  /** What the instance's IMDS will show from now (after the lag); detaches due first, at the time they completed. */
  #record(instanceId: string): void {
    this.#completeDetaches();
    if (!this.#instances.has(instanceId)) return;
    this.#history.record(instanceId, this.#options.clock(), imdsInterfaces(this.state, instanceId));
  }

  #completeDetaches(): void {
    const now = this.#options.clock();
    const due = this.#detaching.filter((d) => d.at <= now).sort((a, b) => a.at - b.at);
    if (due.length === 0) return;
    this.#detaching = this.#detaching.filter((d) => d.at > now);
    this.state.settle();
    for (const { instanceId, at } of due) {
      if (this.#instances.has(instanceId)) this.#history.record(instanceId, at, imdsInterfaces(this.state, instanceId));
    }
  }

  #wait(ms: number): Promise<void> {
    return ms > 0 ? this.#options.sleep(ms) : Promise.resolve();
  }
}
