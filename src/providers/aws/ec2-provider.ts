/**
 * {@link CloudProvider} for AWS: node facts from IMDSv2, ENIs and addresses through EC2.
 * The constructor does no I/O; the first call discovers the node and caches what cannot change
 * while the instance runs (identity, limits, region, primary subnet, security groups).
 */
import {
  CloudError,
  type CloudInterface,
  type CloudProvider,
  type CreateInterfaceOptions,
  type NodeObservation,
  type NodeSnapshot,
} from '../../core/types.js';
import type { EniRecord } from './ec2-records.js';
import { Ec2Gateway, type AwsCredentials } from './ec2-gateway.js';
import { Ec2RequestLimiter } from './ec2-request-limiter.js';
import { isNotAssignedError, mapImdsError } from './error-mapping.js';
import { ImdsClient } from './imds-client.js';
import {
  listMacs,
  readIdentity,
  readMacAddresses,
  readMacFacts,
  readVpcCidrs,
  type ImdsIdentity,
  type ImdsMacFacts,
} from './node-discovery.js';
import { attachedEnis, buildSnapshot, capLimits, missingSubnets, toCloudInterface } from './snapshot.js';
import { DEFAULT_LEAK_GRACE_MS, leakCandidates, ownerGone } from './leaked-enis.js';
import { INSTANCE_ID_TAG_KEY, MANAGED_TAG_KEY, MANAGED_TAG_VALUE, interfaceDescription, interfaceTags, isManaged } from './tags.js';
import type { InterfaceLimits } from '../../core/types.js';

/** The subset of a pino logger the provider uses. */
export interface AwsProviderLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

/** How long deleteInterface waits for a detached ENI to become `available`. */
export interface DetachWaitOptions {
  /** Status checks before giving up. Default 10. */
  readonly attempts?: number;
  /** Delay before the first check, doubled after each. Default 500 ms. */
  readonly initialDelayMs?: number;
  /** Ceiling for the delay between checks. Default 4000 ms. */
  readonly maxDelayMs?: number;
}

export interface Ec2ProviderOptions {
  /** EC2 endpoint URL (from `AWS_ENDPOINT_URL_EC2`); the SDK's default when unset. */
  readonly ec2Endpoint?: string;
  /** IMDS base URL (from `AWS_EC2_METADATA_SERVICE_ENDPOINT`); `http://169.254.169.254` when unset. */
  readonly imdsEndpoint?: string;
  /** AWS region; read from IMDS `placement/region` when unset. */
  readonly region?: string;
  /** Written to the `cluster.k8s.amazonaws.com/name` tag of created ENIs. */
  readonly clusterName?: string;
  /** Static credentials (tests, emulator); the SDK's default chain when unset. */
  readonly credentials?: AwsCredentials;
  readonly logger?: AwsProviderLogger;
  /** Caps the interfaces the node may use (MAX_ENI), below the instance type's limit. */
  readonly maxEnis?: number;
  /** SDK attempts per EC2 call, first included. Small so throttling reaches the pool. Default 3. */
  readonly maxAttempts?: number;
  /**
   * Client-side mirror of EC2's request buckets (ec2-request-limiter.ts): every EC2 request waits
   * for a token of its class. Default: EC2's published figures on the real clock. `false`: none.
   */
  readonly requestLimiter?: Ec2RequestLimiter | false;
  /** Per-request IMDS timeout. Default 2000 ms. */
  readonly imdsTimeoutMs?: number;
  readonly detachWait?: DetachWaitOptions;
  /** collectLeakedInterfaces leaves ENIs younger than this alone. Default 5 minutes. */
  readonly leakGraceMs?: number;
  /** Injectable sleep and clock, for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => Date;
}

/** Facts cached after the first discovery. */
interface NodeFacts {
  readonly identity: ImdsIdentity;
  /** Limits after the maxEnis cap. */
  readonly limits: InterfaceLimits;
  /** The instance type's own limits. */
  readonly typeLimits: InterfaceLimits;
  readonly primarySubnetId: string;
  readonly primarySubnetCidr: string;
  readonly securityGroupIds: readonly string[];
}

const SILENT: AwsProviderLogger = { debug() {}, info() {}, warn() {}, error() {} };

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class Ec2Provider implements CloudProvider {
  readonly name = 'aws';
  private readonly options: Ec2ProviderOptions;
  private readonly log: AwsProviderLogger;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly imds: ImdsClient;
  private gateway: Ec2Gateway | undefined;
  private factsPromise: Promise<NodeFacts> | undefined;
  private readonly subnetCidrs = new Map<string, string>();
  /** What we last saw of each ENI, to name its subnet in errors and drop its primary address. */
  private readonly knownEnis = new Map<string, { subnetId: string; primaryIp: string }>();

  constructor(options: Ec2ProviderOptions = {}) {
    this.options = options;
    this.log = options.logger ?? SILENT;
    this.sleep = options.sleep ?? defaultSleep;
    this.imds = new ImdsClient({
      ...(options.imdsEndpoint === undefined ? {} : { endpoint: options.imdsEndpoint }),
      ...(options.imdsTimeoutMs === undefined ? {} : { timeoutMs: options.imdsTimeoutMs }),
      sleep: this.sleep,
    });
  }

  /** Releases the SDK client's sockets. The provider must not be used afterwards. */
  close(): void {
    this.gateway?.destroy();
    this.gateway = undefined;
  }

  async describeNode(): Promise<NodeSnapshot> {
    const facts = await this.facts();
    const ec2 = this.ec2();
    const [vpcCidrs, enis] = await Promise.all([
      readVpcCidrs(this.imds, facts.identity.primaryMac).catch((error: unknown) => {
        throw mapImdsError(error);
      }),
      ec2.describeInstanceEnis(facts.identity.instanceId),
    ]);
    const attached = attachedEnis(enis, facts.identity.instanceId);
    await this.learnSubnets(attached);
    for (const eni of attached) this.remember(eni);
    return buildSnapshot({
      instanceId: facts.identity.instanceId,
      instanceType: facts.identity.instanceType,
      localIpv4: facts.identity.localIpv4,
      vpcCidrs,
      limits: facts.limits,
      enis: attached,
      subnetCidrs: this.subnetCidrs,
    });
  }

  /**
   * The attached ENIs with their addresses and prefixes, and the VPC's CIDRs, from IMDS alone
   * (the `macs/` tree): no EC2 call, so the reconciler can check the node every minute without
   * spending the account's describe budget. Lags EC2 by a second or two after a change.
   */
  async observeNode(): Promise<NodeObservation> {
    const facts = await this.facts();
    try {
      const macs = await listMacs(this.imds);
      const [interfaces, vpcCidrs] = await Promise.all([
        Promise.all(macs.map((mac) => readMacAddresses(this.imds, mac))),
        readVpcCidrs(this.imds, facts.identity.primaryMac),
      ]);
      return {
        interfaces: interfaces.map((entry) => ({
          mac: entry.mac,
          deviceIndex: entry.deviceIndex,
          id: entry.interfaceId,
          addresses: entry.localIpv4s,
          prefixes: entry.ipv4Prefixes,
        })),
        vpcCidrs,
      };
    } catch (error) {
      throw mapImdsError(error);
    }
  }

  async assignAddresses(interfaceId: string, count: number): Promise<string[]> {
    if (!Number.isInteger(count) || count < 0) {
      throw new CloudError('InvalidRequest', `cannot assign ${count} addresses to ${interfaceId}`);
    }
    if (count === 0) return [];
    await this.facts();
    const known = this.knownEnis.get(interfaceId);
    const assigned = await this.ec2().assignAddresses(interfaceId, count, known?.subnetId);
    const fresh = assigned.filter((ip) => ip !== known?.primaryIp);
    if (fresh.length !== count) {
      // moto answers with every address on the ENI, not only the new ones.
      this.log.warn({ interfaceId, requested: count, answered: fresh }, 'AssignPrivateIpAddresses answer has an unexpected number of addresses');
    }
    this.log.info({ interfaceId, addresses: fresh }, 'assigned secondary addresses');
    return fresh;
  }

  async createInterface(options: CreateInterfaceOptions): Promise<CloudInterface> {
    const facts = await this.facts();
    const { deviceIndex, secondaryCount, prefixCount } = options;
    if (!Number.isInteger(deviceIndex) || deviceIndex < 1) {
      throw new CloudError('InvalidRequest', `device index ${deviceIndex} is not a secondary interface slot (1 or more)`);
    }
    // Only the configured cap is checked here; the instance type's own limit is EC2's to enforce.
    if (facts.limits.maxInterfaces < facts.typeLimits.maxInterfaces && deviceIndex >= facts.limits.maxInterfaces) {
      throw new CloudError(
        'InterfaceLimit',
        `instance ${facts.identity.instanceId} may use ${facts.limits.maxInterfaces} interfaces (maxEnis); device index ${deviceIndex} is beyond it`,
      );
    }
    const instanceId = facts.identity.instanceId;
    const ec2 = this.ec2();
    const eni = await ec2.createEni({
      instanceId,
      subnetId: facts.primarySubnetId,
      securityGroupIds: facts.securityGroupIds,
      secondaryCount: Math.max(0, secondaryCount),
      prefixCount,
      description: interfaceDescription(instanceId),
      tags: interfaceTags({ instanceId, createdAt: (this.options.now ?? (() => new Date()))(), clusterName: this.options.clusterName }),
    });
    this.remember(eni);
    let attachmentId: string | undefined;
    try {
      attachmentId = await ec2.attachEni(eni.id, instanceId, deviceIndex);
      await ec2.setDeleteOnTermination(eni.id, attachmentId);
    } catch (error) {
      this.log.warn({ interfaceId: eni.id, deviceIndex, err: messageOf(error) }, 'attaching a new ENI failed; deleting it');
      await this.deleteCreated(eni.id, attachmentId).catch((cleanupError: unknown) => {
        this.log.error({ interfaceId: eni.id, err: messageOf(cleanupError) }, 'could not delete ENI after a failed attach; it is leaked');
      });
      throw error;
    }
    this.log.info({ interfaceId: eni.id, deviceIndex, addresses: eni.secondaryIps }, 'created and attached ENI');
    return { ...toCloudInterface(eni, deviceIndex, facts.primarySubnetCidr), managed: true };
  }

  async releaseAddresses(interfaceId: string, addresses: readonly string[]): Promise<void> {
    if (addresses.length === 0) return;
    await this.facts();
    const ec2 = this.ec2();
    try {
      await ec2.unassignAddresses(interfaceId, addresses);
    } catch (error) {
      if (!(error instanceof CloudError)) throw error;
      if (error.code === 'NotFound') {
        this.log.warn({ interfaceId, addresses }, 'interface gone; its addresses are released with it');
        return;
      }
      if (!isNotAssignedError(error)) throw error;
      // EC2 rejects the whole call when any address is already gone; release the rest.
      const eni = await ec2.describeEni(interfaceId);
      const remaining = eni === undefined ? [] : addresses.filter((ip) => eni.secondaryIps.includes(ip));
      if (remaining.length > 0) await ec2.unassignAddresses(interfaceId, remaining);
    }
    this.log.info({ interfaceId, addresses }, 'released secondary addresses');
  }

  async assignPrefixes(interfaceId: string, count: number): Promise<string[]> {
    if (!Number.isInteger(count) || count < 0) {
      throw new CloudError('InvalidRequest', `cannot delegate ${count} prefixes to ${interfaceId}`);
    }
    if (count === 0) return [];
    await this.facts();
    const known = this.knownEnis.get(interfaceId);
    const prefixes = await this.ec2().assignPrefixes(interfaceId, count, known?.subnetId);
    if (prefixes.length !== count) {
      this.log.warn({ interfaceId, requested: count, answered: prefixes }, 'AssignPrivateIpAddresses answer has an unexpected number of prefixes');
    }
    this.log.info({ interfaceId, prefixes }, 'delegated prefixes');
    return prefixes;
  }

  async releasePrefixes(interfaceId: string, prefixes: readonly string[]): Promise<void> {
    if (prefixes.length === 0) return;
    await this.facts();
    const ec2 = this.ec2();
    try {
      await ec2.unassignPrefixes(interfaceId, prefixes);
    } catch (error) {
      if (!(error instanceof CloudError)) throw error;
      if (error.code === 'NotFound') return;
      if (!isNotAssignedError(error)) throw error;
      const eni = await ec2.describeEni(interfaceId);
      const remaining = eni === undefined ? [] : prefixes.filter((p) => eni.prefixes.includes(p));
      if (remaining.length > 0) await ec2.unassignPrefixes(interfaceId, remaining);
    }
    this.log.info({ interfaceId, prefixes }, 'released prefixes');
  }

  /**
   * Deletes leaked ENIs (see leaked-enis.ts for the rules). An ENI attached or deleted by someone
   * else meanwhile is skipped. Returns the ids deleted.
   */
  async collectLeakedInterfaces(): Promise<string[]> {
    const facts = await this.facts();
    const ec2 = this.ec2();
    const tags = new Map([
      [MANAGED_TAG_KEY, MANAGED_TAG_VALUE],
      [INSTANCE_ID_TAG_KEY, '*'],
    ]);
    const enis = await ec2.describeAvailableTagged(tags);
    const candidates = leakCandidates(enis, {
      instanceId: facts.identity.instanceId,
      clusterName: this.options.clusterName,
      nowMs: (this.options.now ?? (() => new Date()))().getTime(),
      graceMs: this.options.leakGraceMs ?? DEFAULT_LEAK_GRACE_MS,
    });
    const doomed = [...candidates.own];
    if (candidates.byOwner.size > 0) {
      const states = await ec2.instanceStates([...candidates.byOwner.keys()]);
      for (const [owner, ids] of candidates.byOwner) if (ownerGone(states.get(owner))) doomed.push(...ids);
    }
    const deleted: string[] = [];
    for (const interfaceId of doomed) {
      try {
        await ec2.deleteEni(interfaceId);
        deleted.push(interfaceId);
      } catch (error) {
        if (error instanceof CloudError && (error.code === 'NotFound' || error.cloudCode === 'InvalidNetworkInterface.InUse')) continue;
        this.log.warn({ interfaceId, err: messageOf(error) }, 'deleting a leaked ENI failed');
      }
    }
    if (deleted.length > 0) this.log.info({ deleted }, 'deleted leaked ENIs');
    return deleted;
  }

  async deleteInterface(interfaceId: string): Promise<void> {
    await this.facts();
    const eni = await this.ec2().describeEni(interfaceId);
    if (eni === undefined) return;
    if (eni.attachment?.deviceIndex === 0) {
      throw new CloudError('InvalidRequest', `refusing to delete ${interfaceId}: it is the primary interface`);
    }
    if (!isManaged(eni.tags)) {
      throw new CloudError('InvalidRequest', `refusing to delete ${interfaceId}: it is not tagged nativeip.io/managed=true`);
    }
    const attachment = eni.attachment;
    const attachmentId = attachment !== undefined && attachment.status !== 'detached' ? attachment.attachmentId : undefined;
    await this.detachAndDelete(interfaceId, attachmentId);
    this.knownEnis.delete(interfaceId);
    this.log.info({ interfaceId }, 'deleted ENI');
  }

  /** Removes an ENI whose attach failed; an attach with an unknown outcome may still have landed. */
  private async deleteCreated(interfaceId: string, attachmentId: string | undefined): Promise<void> {
    let attachment = attachmentId;
    if (attachment === undefined) {
      const eni = await this.ec2().describeEni(interfaceId);
      if (eni === undefined) return;
      if (eni.attachment !== undefined && eni.attachment.status !== 'detached') attachment = eni.attachment.attachmentId;
    }
    await this.detachAndDelete(interfaceId, attachment);
    this.knownEnis.delete(interfaceId);
  }

  private async detachAndDelete(interfaceId: string, attachmentId: string | undefined): Promise<void> {
    const ec2 = this.ec2();
    if (attachmentId !== undefined) {
      try {
        await ec2.detachEni(interfaceId, attachmentId);
      } catch (error) {
        if (!(error instanceof CloudError && error.code === 'NotFound')) throw error;
      }
      if (!(await this.waitAvailable(interfaceId))) return;
    }
    try {
      await ec2.deleteEni(interfaceId);
    } catch (error) {
      if (!(error instanceof CloudError && error.code === 'NotFound')) throw error;
    }
  }

  /** Polls until the ENI is `available`; false when it disappeared meanwhile. */
  private async waitAvailable(interfaceId: string): Promise<boolean> {
    const wait = this.options.detachWait ?? {};
    const attempts = Math.max(1, wait.attempts ?? 10);
    const maxDelay = wait.maxDelayMs ?? 4000;
    let delay = wait.initialDelayMs ?? 500;
    let status = 'unknown';
    for (let attempt = 0; attempt < attempts; attempt += 1) {
      const eni = await this.ec2().describeEni(interfaceId);
      if (eni === undefined) return false;
      status = eni.status;
      if (status === 'available') return true;
      await this.sleep(delay);
      delay = Math.min(delay * 2, maxDelay);
    }
    throw new CloudError('Transient', `interface ${interfaceId} still ${status} after ${attempts} checks; not deleted`);
  }

  private remember(eni: EniRecord): void {
    this.knownEnis.set(eni.id, { subnetId: eni.subnetId, primaryIp: eni.primaryIp });
  }

  /** Fills in subnet CIDRs for ENIs in subnets not seen yet: IMDS first, then DescribeSubnets. */
  private async learnSubnets(enis: readonly EniRecord[]): Promise<void> {
    const missing = missingSubnets(enis, this.subnetCidrs);
    if (missing.length === 0) return;
    for (const subnetId of missing) {
      const eni = enis.find((entry) => entry.subnetId === subnetId);
      if (eni === undefined) continue;
      try {
        const facts = await readMacFacts(this.imds, eni.mac);
        this.subnetCidrs.set(facts.subnetId, facts.subnetCidr);
      } catch (error) {
        this.log.debug({ interfaceId: eni.id, err: messageOf(error) }, 'ENI not in IMDS yet; asking EC2 for its subnet');
      }
    }
    const stillMissing = missingSubnets(enis, this.subnetCidrs);
    if (stillMissing.length === 0) return;
    for (const [subnetId, cidr] of await this.ec2().describeSubnetCidrs(stillMissing)) this.subnetCidrs.set(subnetId, cidr);
  }

  private ec2(): Ec2Gateway {
    if (this.gateway === undefined) throw new Error('Ec2Provider used before discovery');
    return this.gateway;
  }

  private facts(): Promise<NodeFacts> {
    if (this.factsPromise === undefined) {
      this.factsPromise = this.discover().catch((error: unknown) => {
        this.factsPromise = undefined;
        throw error;
      });
    }
    return this.factsPromise;
  }

  private async discover(): Promise<NodeFacts> {
    let identity: ImdsIdentity;
    let macs: ImdsMacFacts[];
    try {
      identity = await readIdentity(this.imds, this.options.region);
      macs = await Promise.all((await listMacs(this.imds)).map((mac) => readMacFacts(this.imds, mac)));
    } catch (error) {
      throw mapImdsError(error);
    }
    const primary = macs.find((entry) => entry.mac === identity.primaryMac);
    if (primary === undefined) {
      throw new CloudError('NotFound', `IMDS lists no interface for the primary MAC ${identity.primaryMac}`);
    }
    for (const entry of macs) this.subnetCidrs.set(entry.subnetId, entry.subnetCidr);
    if (this.gateway === undefined) {
      this.gateway = new Ec2Gateway({
        region: identity.region,
        endpoint: this.options.ec2Endpoint,
        credentials: this.options.credentials,
        maxAttempts: this.options.maxAttempts ?? 3,
        limiter: this.options.requestLimiter === false ? undefined : (this.options.requestLimiter ?? new Ec2RequestLimiter()),
      });
    }
    const typeLimits = await this.gateway.describeInstanceLimits(identity.instanceType);
    const limits = capLimits(typeLimits, this.options.maxEnis);
    this.log.info(
      { instanceId: identity.instanceId, instanceType: identity.instanceType, region: identity.region, limits },
      'discovered node',
    );
    return {
      identity,
      limits,
      typeLimits,
      primarySubnetId: primary.subnetId,
      primarySubnetCidr: primary.subnetCidr,
      securityGroupIds: primary.securityGroupIds,
    };
  }
}
