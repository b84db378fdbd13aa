/**
 * {@link CloudProvider} for Azure: the VM from IMDS, its NICs and their IP configurations through
 * ARM. Pods get the addresses of IP configurations nativeip adds (`nativeip-<n>`, dynamic, in the
 * NIC's subnet). nativeip never creates or deletes NICs on Azure.
 *
 * Writes: a NIC PUT replaces the whole resource, so each write reads the NIC, changes only our
 * configurations, and PUTs it with the NIC's ETag (`If-Match`), so a concurrent writer is never
 * overwritten (412: read again and recompute). Writes to one NIC are serialised; one PUT adds as
 * many configurations as asked, up to the batch size. Every write is journalled in the daemon's
 * checkpoint before it is sent and while its long-running operation runs, so a daemon killed
 * mid-operation finishes that operation on restart instead of issuing a second PUT.
 */
import type { CloudApiObserver } from '../../core/cloud-plugin.js';
import { SILENT_LOGGER } from '../../core/silent-logger.js';
import { sleep as defaultSleep } from '../../core/sleep.js';
import type { TokenCredential } from '@azure/core-auth';
import { CloudError, type CloudInterface, type CloudProvider, type NodeObservation, type NodeSnapshot } from '../../core/types.js';
import { EtagMismatch, OutcomeUnknown, type ArmApi, type ConfigChange, type NicState, type WriteHandle } from './arm-api.js';
import { ArmGateway } from './arm-gateway.js';
import { writePacingDelayMs } from './error-mapping.js';
import type { AzureImdsApi } from './imds-api.js';
import { httpAzureImds, instanceMetadataOf, networkMetadataOf, type AzureInstanceMetadata } from './imds-client.js';
import { observationFromImds, type KnownNic } from './imds-network.js';
import { DEFAULT_AZURE_BATCH_SIZE, MAX_IP_CONFIGS_PER_NIC, isUsableOurs, planAppend, planRemoval, primaryConfig } from './ip-configs.js';
import { nicInterface, noNicCreation, noNicDeletion } from './nic-interface.js';
import { decodeJournal, encodeJournal, type PendingOperation } from './operation-journal.js';
import { vmKindOf, vnetIdOfSubnet, type VmKind } from './resource-id.js';

/** The subset of a pino logger the provider uses. */
export interface AzureProviderLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export { DEFAULT_AZURE_BATCH_SIZE };

export interface AzureProviderOptions {
  /** Told of every request to ARM as it ends (metrics). */
  readonly apiObserver?: CloudApiObserver;
  /** Managed identity (or workload identity) credential; see `createAzureCredential`. Required unless {@link armApi} is given. */
  readonly credential?: TokenCredential;
  /** ARM base URL; `https://management.azure.com` when unset. */
  readonly armEndpoint?: string;
  /** PEM bundle of extra CAs trusted for ARM (the emulator's certificate). */
  readonly armCaBundle?: string;
  /** IMDS base URL; `http://169.254.169.254` when unset. */
  readonly imdsEndpoint?: string;
  /** Most IP configurations one PUT adds. Default {@link DEFAULT_AZURE_BATCH_SIZE}. */
  readonly batchSize?: number;
  /** Delay between polls of a long-running operation when ARM sends no Retry-After. Default 1000 ms. */
  readonly pollIntervalMs?: number;
  /** Attempts of one write when the NIC keeps changing under it (412). Default 4. */
  readonly maxWriteAttempts?: number;
  readonly imdsTimeoutMs?: number;
  /** Longest wait for one ARM request's answer; default DEFAULT_ARM_REQUEST_TIMEOUT_MS (30 s, see arm-gateway.ts). */
  readonly armRequestTimeoutMs?: number;
  readonly logger?: AzureProviderLogger;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly clock?: () => number;
  /**
   * The ARM backend to use instead of the SDK gateway the provider otherwise builds at discovery
   * (from the credential, endpoint, CA bundle, poll interval and timeout above, which are then
   * unused): the churn simulators' in-process emulator, a test double. The caller owns it: close()
   * leaves it open.
   */
  readonly armApi?: ArmApi;
  /** The instance metadata to read instead of IMDS over HTTP at {@link imdsEndpoint}. */
  readonly imdsApi?: AzureImdsApi;
}

interface NodeFacts {
  readonly imds: AzureInstanceMetadata;
  readonly kind: VmKind;
}


export class AzureProvider implements CloudProvider {
  readonly name = 'azure';
  readonly #options: AzureProviderOptions;
  readonly #log: AzureProviderLogger;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #clock: () => number;
  readonly #abort = new AbortController();
  readonly #journal = new Map<string, PendingOperation>();
  readonly #nicQueues = new Map<string, Promise<unknown>>();
  #saveState: (() => Promise<void>) | undefined;
  /** The VM the restored journal was saved on; see restoreState. */
  #restoredFrom: string | undefined;
  #gateway: ArmApi | undefined;
  readonly #imds: AzureImdsApi;
  #facts: Promise<NodeFacts> | undefined;
  #vnetCidrs: readonly string[] | undefined;
  /** The NICs of the last describe by MAC: IMDS names NICs by MAC only. */
  #knownNics: ReadonlyMap<string, KnownNic> = new Map();

  constructor(options: AzureProviderOptions) {
    this.#options = options;
    this.#log = options.logger ?? SILENT_LOGGER;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#clock = options.clock ?? Date.now;
    this.#imds =
      options.imdsApi ??
      httpAzureImds({
        ...(options.imdsEndpoint === undefined ? {} : { endpoint: options.imdsEndpoint }),
        ...(options.imdsTimeoutMs === undefined ? {} : { timeoutMs: options.imdsTimeoutMs }),
      });
  }

  /** Stops polling and releases sockets (an injected armApi is the caller's to close). Operations in flight stay journalled. */
  close(): void {
    this.#abort.abort();
    if (this.#options.armApi === undefined) this.#gateway?.close();
  }

  resumeState(): unknown {
    return encodeJournal([...this.#journal.values()]);
  }

  restoreState(state: unknown, savedBy?: string): void {
    try {
      for (const op of decodeJournal(state)) this.#journal.set(op.nicId, op);
      this.#restoredFrom = savedBy;
    } catch (error) {
      this.#log.error({ err: (error as Error).message }, 'ignoring unreadable Azure provider state from the checkpoint');
    }
  }

  onResumeStateChange(save: () => Promise<void>): void {
    this.#saveState = save;
  }

  async describeNode(): Promise<NodeSnapshot> {
    const facts = await this.#nodeFacts();
    await this.#finishAllPending();
    const imds = await this.#instanceMetadata().catch(() => facts.imds);
    const gateway = this.#arm();
    const refs = facts.kind.kind === 'vm' ? await gateway.vmNics(facts.kind.resourceGroup, facts.kind.vmName) : await gateway.uniformNics(facts.kind);
    // Primary first, then the VM's order: device index = position.
    const ordered = [...refs.filter((r) => r.primary), ...refs.filter((r) => !r.primary)];
    const nics = await Promise.all(ordered.map((ref) => gateway.nic(ref.id)));
    const interfaces: CloudInterface[] = [];
    for (const nic of nics) {
      const cloud = this.#toCloudInterface(nic, interfaces.length, imds);
      if (cloud !== undefined) interfaces.push(cloud);
    }
    const primary = interfaces[0];
    if (primary === undefined) throw new CloudError('NotFound', `VM ${facts.imds.vmName} has no NIC with a primary IP configuration nativeip can read`);
    this.#knownNics = new Map(interfaces.map((i) => [i.mac, { id: i.id, deviceIndex: i.deviceIndex }]));
    return {
      instanceId: facts.imds.resourceId,
      instanceType: facts.imds.vmSize,
      primaryIp: primary.primaryIp,
      vpcCidrs: await this.#vnetPrefixes(primary),
      limits: { maxInterfaces: nics.length, ipv4PerInterface: MAX_IP_CONFIGS_PER_NIC },
      interfaces,
    };
  }

  /**
   * The NICs and their private addresses from IMDS `/metadata/instance/network`: no ARM read, no
   * token. NICs are named by the last describe (IMDS knows only their MACs). Like the AWS IMDS view
   * it trails ARM by a few seconds after a change, which the reconciler allows for.
   */
  async observeNode(): Promise<NodeObservation> {
    return observationFromImds(networkMetadataOf(await this.#imds.network()), this.#knownNics);
  }

  assignAddresses(interfaceId: string, count: number): Promise<string[]> {
    if (!Number.isInteger(count) || count < 0) {
      return Promise.reject(new CloudError('InvalidRequest', `cannot assign ${count} addresses to ${interfaceId}`));
    }
    if (count === 0) return Promise.resolve([]);
    return this.#serial(interfaceId, () =>
      this.#withRetries(interfaceId, async (nic) => {
        const subnetId = primaryConfig(nic.configs)?.subnetId;
        if (subnetId === undefined) throw new CloudError('InvalidRequest', `NIC ${interfaceId} has no primary IP configuration with a subnet`);
        const plan = planAppend(nic.configs, { count, batchSize: this.#options.batchSize ?? DEFAULT_AZURE_BATCH_SIZE });
        if (plan.kind === 'full') {
          throw new CloudError('AddressLimit', `network interface ${interfaceId} holds ${plan.configs} IP configurations, Azure's limit is ${MAX_IP_CONFIGS_PER_NIC}`);
        }
        await this.#write(interfaceId, 'add', plan.names, { remove: [], add: plan.names, subnetId }, nic.etag);
        const after = await this.#arm().nic(interfaceId);
        const wanted = new Set(plan.names);
        const added = after.configs.filter((c) => wanted.has(c.name) && isUsableOurs(c)).map((c) => c.address as string);
        this.#log.info({ interfaceId, configs: plan.names, addresses: added }, 'added IP configurations');
        return added;
      }),
    );
  }

  createInterface(): Promise<CloudInterface> {
    return Promise.reject(noNicCreation());
  }

  releaseAddresses(interfaceId: string, addresses: readonly string[]): Promise<void> {
    if (addresses.length === 0) return Promise.resolve();
    return this.#serial(interfaceId, () =>
      this.#withRetries(interfaceId, async (nic) => {
        const plan = planRemoval(nic.configs, addresses);
        const refused = plan.kept.filter((k) => k.reason !== 'absent');
        if (refused.length > 0) this.#log.warn({ interfaceId, refused }, 'not releasing addresses that are not on IP configurations of ours');
        if (plan.names.length === 0) return;
        const subnetId = primaryConfig(nic.configs)?.subnetId ?? '';
        await this.#write(interfaceId, 'remove', plan.names, { remove: plan.names, add: [], subnetId }, nic.etag);
        this.#log.info({ interfaceId, configs: plan.names }, 'removed IP configurations');
      }),
    );
  }

  deleteInterface(interfaceId: string): Promise<void> {
    return Promise.reject(noNicDeletion(interfaceId));
  }

  /** Reads the NIC and runs `attempt`; when the NIC changed under the write (412), reads it again. */
  async #withRetries<T>(nicId: string, attempt: (nic: NicState) => Promise<T>): Promise<T> {
    await this.#nodeFacts();
    await this.#finishPending(nicId);
    const attempts = this.#options.maxWriteAttempts ?? 4;
    for (let i = 1; ; i += 1) {
      const nic = await this.#arm().nic(nicId);
      try {
        return await attempt(nic);
      } catch (error) {
        if (!(error instanceof EtagMismatch)) throw error;
        this.#log.info({ interfaceId: nicId, attempt: i }, 'NIC changed since it was read; reading it again');
        if (i >= attempts) {
          throw new CloudError('Transient', `NIC ${nicId} kept changing under ${attempts} writes (HTTP 412 each time); will try again`, { cloudCode: 'PreconditionFailed' });
        }
      }
    }
  }

  /**
   * One journalled write: the intent is on disk before the PUT, the poller state once ARM accepted
   * it, and the entry goes when the operation ended. An outcome that is unknown (the PUT or a poll
   * got no answer) keeps the entry, so the next call on this NIC finds out before writing again.
   */
  async #write(nicId: string, kind: 'add' | 'remove', names: readonly string[], change: ConfigChange, etag: string | undefined): Promise<void> {
    const facts = await this.#nodeFacts();
    const { remainingWrites } = this.#arm();
    const pacing = writePacingDelayMs(remainingWrites);
    if (pacing > 0) {
      this.#log.warn({ remainingWrites, pacingMs: pacing }, 'subscription write budget is low; slowing down');
      await this.#sleep(pacing);
    }
    const target = facts.kind.kind === 'uniform' ? facts.imds.resourceId : nicId;
    const op: PendingOperation = { target, nicId, kind, names, startedAtMs: this.#clock() };
    await this.#record(nicId, op);
    let handle: WriteHandle;
    try {
      handle = facts.kind.kind === 'uniform' ? await this.#arm().writeUniform(facts.kind, nicId, change) : await this.#arm().writeNic(nicId, change, etag);
    } catch (error) {
      if (error instanceof OutcomeUnknown) throw error.cause;
      await this.#record(nicId, undefined);
      throw error;
    }
    await this.#record(nicId, { ...op, poller: await handle.serialize() });
    await this.#complete(nicId, handle);
  }

  async #complete(nicId: string, handle: WriteHandle): Promise<void> {
    try {
      await handle.done();
    } catch (error) {
      if (error instanceof OutcomeUnknown) throw error.cause;
      await this.#record(nicId, undefined);
      throw error;
    }
    await this.#record(nicId, undefined);
  }

  async #finishAllPending(): Promise<void> {
    await Promise.all([...this.#journal.keys()].map((nicId) => this.#serial(nicId, () => this.#finishPending(nicId))));
  }

  /** Finishes a journalled operation on the NIC, if any, without writing again. */
  async #finishPending(nicId: string): Promise<void> {
    const op = this.#journal.get(nicId);
    if (op === undefined) return;
    const facts = await this.#nodeFacts();
    this.#log.info({ interfaceId: nicId, kind: op.kind, configs: op.names, accepted: op.poller !== undefined }, 'finishing an operation left in flight');
    if (op.poller !== undefined) {
      const handle = facts.kind.kind === 'uniform' ? this.#arm().resumeUniform(op.poller, op.target) : this.#arm().resumeNic(op.poller, nicId);
      try {
        await this.#complete(nicId, handle);
      } catch (error) {
        if (this.#journal.has(nicId)) throw error;
        this.#log.warn({ interfaceId: nicId, err: (error as Error).message }, 'the operation left in flight failed; nothing to finish');
      }
      return;
    }
    // The PUT may or may not have reached ARM: wait until the NIC is no longer being updated.
    const pollMs = this.#options.pollIntervalMs ?? 1000;
    for (let i = 0; i < 120; i += 1) {
      const nic = await this.#arm().nic(nicId);
      if (nic.provisioningState !== 'Updating') {
        await this.#record(nicId, undefined);
        return;
      }
      await this.#sleep(pollMs);
    }
    throw new CloudError('Transient', `NIC ${nicId} is still being updated; will check again`);
  }

  async #record(nicId: string, op: PendingOperation | undefined): Promise<void> {
    if (op === undefined) this.#journal.delete(nicId);
    else this.#journal.set(nicId, op);
    await this.#saveState?.();
  }

  #serial<T>(nicId: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#nicQueues.get(nicId) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => undefined);
    this.#nicQueues.set(nicId, tail);
    void tail.then(() => {
      if (this.#nicQueues.get(nicId) === tail) this.#nicQueues.delete(nicId);
    });
    return run;
  }

  #toCloudInterface(nic: NicState, deviceIndex: number, imds: AzureInstanceMetadata): CloudInterface | undefined {
    const cloud = nicInterface(nic, deviceIndex, imds.interfaces.find((i) => i.mac === nic.mac)?.subnetCidr);
    if (cloud === undefined) {
      this.#log.warn({ interfaceId: nic.id, mac: nic.mac }, 'NIC is not usable yet (no primary address, subnet or IMDS entry); skipping it');
    }
    return cloud;
  }

  async #vnetPrefixes(primary: CloudInterface): Promise<readonly string[]> {
    if (this.#vnetCidrs !== undefined) return this.#vnetCidrs;
    const vnetId = vnetIdOfSubnet(primary.subnetId);
    try {
      if (vnetId === undefined) throw new CloudError('InvalidRequest', `subnet id ${primary.subnetId} names no virtual network`);
      this.#vnetCidrs = await this.#arm().vnetPrefixes(vnetId);
    } catch (error) {
      this.#log.warn({ err: (error as Error).message }, 'cannot read the virtual network; using the subnet as the VNet range');
      return [primary.subnetCidr];
    }
    return this.#vnetCidrs;
  }

  async #instanceMetadata(): Promise<AzureInstanceMetadata> {
    return instanceMetadataOf(await this.#imds.instance());
  }

  #arm(): ArmApi {
    if (this.#gateway === undefined) throw new Error('AzureProvider used before discovery');
    return this.#gateway;
  }

  #nodeFacts(): Promise<NodeFacts> {
    this.#facts ??= this.#discover().catch((error: unknown) => {
      this.#facts = undefined;
      throw error;
    });
    return this.#facts;
  }

  async #discover(): Promise<NodeFacts> {
    const imds = await this.#instanceMetadata();
    const kind = vmKindOf(imds.resourceId);
    if (kind === undefined) throw new CloudError('InvalidRequest', `IMDS resource id ${imds.resourceId} is neither a VM nor a scale-set instance`);
    this.#gateway ??= this.#options.armApi ?? this.#newGateway(imds.subscriptionId);
    this.#log.info(
      { vm: imds.resourceId, vmSize: imds.vmSize, scaleSet: imds.scaleSetName, path: kind.kind === 'uniform' ? 'scale-set instance network profile' : 'NIC resources' },
      'discovered Azure VM',
    );
    if (this.#journal.size > 0 && this.#restoredFrom !== undefined && this.#restoredFrom !== imds.resourceId) {
      this.#log.warn({ savedBy: this.#restoredFrom, vm: imds.resourceId, dropped: this.#journal.size }, 'ignoring NIC operations in flight that the checkpoint recorded on another VM');
      this.#journal.clear();
    }
    return { imds, kind };
  }

  #newGateway(subscriptionId: string): ArmGateway {
    const { credential } = this.#options;
    if (credential === undefined) throw new CloudError('InvalidRequest', 'the Azure provider needs a credential (or an injected armApi)');
    return new ArmGateway({
      subscriptionId,
      credential,
      ...(this.#options.armEndpoint === undefined ? {} : { endpoint: this.#options.armEndpoint }),
      ...(this.#options.armCaBundle === undefined ? {} : { caBundle: this.#options.armCaBundle }),
      pollIntervalMs: this.#options.pollIntervalMs ?? 1000,
      ...(this.#options.armRequestTimeoutMs === undefined ? {} : { requestTimeoutMs: this.#options.armRequestTimeoutMs }),
      signal: this.#abort.signal,
      ...(this.#options.apiObserver === undefined ? {} : { observer: this.#options.apiObserver }),
    });
  }
}
