/**
 * The emulated Azure subscription, in-process on simulated time: the Azure emulator's own state
 * model (NICs, IP configurations, long-running operations, the 256 limit, full subnets,
 * `RetryableErrorDueToAnotherOperation`) behind a CloudProvider that behaves like the real one
 * (src/providers/azure): it reads the NIC, adds or removes a batch of `nativeip-<n>` configurations
 * in one PUT with the NIC's ETag, polls the operation until it ends, and serialises writes per NIC.
 * Every node draws from the subscription's shared write bucket (200 burst, 10 per s); a refused
 * write is a 429 with Retry-After, mapped by the real provider's error mapping. The provider's pure
 * parts (configuration diffing, error mapping, write pacing, the NIC's view) are reused, not
 * re-implemented; only the https and SDK layer is replaced by direct calls on the state.
 * Each node can observe itself through a lagging IMDS network view (the emulator's document,
 * decoded by the provider's own decoder), counted apart: IMDS reads are not ARM calls.
 */
import { CloudError, type CloudInterface, type CloudProvider, type NodeObservation, type NodeSnapshot } from '../../src/core/types.js';
import type { DesiredConfig, NicRecord, OperationRecord } from '../../src/emulator/azure/arm-model.js';
import { AzureState } from '../../src/emulator/azure/arm-state.js';
import { imdsNetworkJson } from '../../src/emulator/azure/arm-render.js';
import { ArmApiError } from '../../src/emulator/azure/errors.js';
import { DEFAULT_AZURE_IMDS_PROPAGATION_MS, LaggedView } from '../../src/emulator/azure/imds-lag.js';
import { ARM_WRITE_BUCKET, WriteBucket } from '../../src/emulator/azure/write-bucket.js';
import { seededIdSource } from '../../src/emulator/shared/ids.js';
import { isPreconditionFailed, mapArmError, writePacingDelayMs, type ArmErrorContext } from '../../src/providers/azure/error-mapping.js';
import { decodeNetworkMetadata, observationFromImds, type KnownNic } from '../../src/providers/azure/imds-network.js';
import { DEFAULT_AZURE_BATCH_SIZE, MAX_IP_CONFIGS_PER_NIC, applyIpConfigChange, isUsableOurs, planAppend, planRemoval, primaryConfig, type IpConfigView } from '../../src/providers/azure/ip-configs.js';
import { nicInterface, noNicCreation, noNicDeletion } from '../../src/providers/azure/nic-interface.js';
import { normaliseMac } from '../../src/providers/azure/resource-id.js';
import type { VirtualClock } from './virtual-clock.js';

/** Latencies of ARM as seen from a node, in ms. */
export interface ArmLatencies {
  /** One read: GET of a VM, NIC, VNet or operation status. */
  readonly read: number;
  /** A NIC PUT until ARM answers that it accepted the operation. */
  readonly write: number;
  /** A NIC PUT's long-running operation, accepted until Succeeded (real ones take 10–60 s). */
  readonly operation: number;
  /** Between two polls of the operation: the provider's pollIntervalMs (ARM sends no Retry-After). */
  readonly poll: number;
  /** After ARM committed a change, until the VM's IMDS shows it (the emulator's default lag). */
  readonly imdsLag: number;
  /** Reading `/metadata/instance/network` (one local GET). */
  readonly imdsRead: number;
}

export const DEFAULT_ARM_LATENCIES: ArmLatencies = { read: 150, write: 300, operation: 15_000, poll: 1_000, imdsLag: DEFAULT_AZURE_IMDS_PROPAGATION_MS, imdsRead: 5 };

/** ARM calls that change something: the subscription's write bucket pays for these. */
export const ARM_MUTATING_CALLS = new Set(['PutNetworkInterface']);

export interface SimSubscriptionOptions {
  readonly clock: VirtualClock;
  readonly latencies?: Partial<ArmLatencies>;
  /** Enforce ARM's per-subscription write bucket (200 burst, 10 per s), or one of this size. */
  readonly throttling?: boolean | { readonly capacity: number; readonly refillPerSecond: number };
  /** Most configurations one PUT adds (NATIVEIP_AZURE_BATCH_SIZE). */
  readonly batchSize?: number;
  readonly vnetCidr?: string;
  readonly subnets?: readonly { readonly name: string; readonly cidr: string }[];
  /** NICs per VM (the primary included). Default 1. */
  readonly nicsPerVm?: number;
}

/** One subscription: the state, the shared write bucket and the call counters (the emulator's names). */
export class SimSubscription {
  readonly state: AzureState;
  readonly clock: VirtualClock;
  readonly latencies: ArmLatencies;
  readonly batchSize: number;
  readonly nicsPerVm: number;
  readonly calls = new Map<string, number>();
  readonly throttled = new Map<string, number>();
  /** Reads of IMDS by every node: not ARM calls. */
  imdsReads = 0;
  readonly #bucket: WriteBucket | undefined;
  /** Each VM's IMDS network view over time, by VM id. */
  readonly #imds = new Map<string, LaggedView<Record<string, unknown>>>();

  constructor(options: SimSubscriptionOptions) {
    this.clock = options.clock;
    this.latencies = { ...DEFAULT_ARM_LATENCIES, ...options.latencies };
    this.batchSize = options.batchSize ?? DEFAULT_AZURE_BATCH_SIZE;
    this.nicsPerVm = options.nicsPerVm ?? 1;
    this.state = new AzureState({
      subscriptionId: '00000000-0000-4000-a000-000000000001',
      resourceGroup: 'nodes-rg',
      location: 'westeurope',
      vnetName: 'vnet',
      vnetCidr: options.vnetCidr ?? '10.1.0.0/16',
      subnets: options.subnets ?? [{ name: 'nodes', cidr: '10.1.0.0/16' }],
      clock: options.clock.now,
      ids: seededIdSource(7),
      operationLatencyMs: this.latencies.operation,
      onChange: () => this.#recordImds(),
    });
    const bucket = options.throttling === true ? ARM_WRITE_BUCKET : options.throttling === false ? undefined : options.throttling;
    this.#bucket = bucket === undefined ? undefined : new WriteBucket({ ...bucket, clock: options.clock.now });
  }

  /** A running VM with its NICs; returns its resource id. */
  launch(vmSize: string): string {
    const id = this.state.createVm({ vmSize, nics: this.nicsPerVm }).id;
    this.#imds.set(id, new LaggedView(this.latencies.imdsLag));
    this.#recordImds();
    return id;
  }

  /** The VM's IMDS network document as it shows now (ARM's committed state `imdsLag` ago). */
  imdsNetwork(vmId: string): unknown {
    return this.#imds.get(vmId)?.viewAt(this.clock.now());
  }

  /** After a committed change: every VM's network as IMDS will show it once the lag has passed. */
  #recordImds(): void {
    for (const [vmId, view] of this.#imds) {
      const vm = this.state.vm(vmId);
      if (vm === undefined) continue;
      const network = imdsNetworkJson(this.state, vm);
      view.record(this.clock.now(), network, JSON.stringify(network));
    }
  }

  /**
   * One ARM request: counted, paid for on the virtual clock, then run against the state (which
   * first completes the operations that are due, as the emulator does on every request). An ARM
   * error answer is thrown as the RestError-shaped value the SDK would throw.
   */
  async request<T>(operation: string, latencyMs: number, run: () => T): Promise<T> {
    this.calls.set(operation, (this.calls.get(operation) ?? 0) + 1);
    await this.clock.sleep(latencyMs);
    this.state.settle();
    try {
      return run();
    } catch (error) {
      if (!(error instanceof ArmApiError)) throw error;
      if (error.status === 429) this.throttled.set(operation, (this.throttled.get(operation) ?? 0) + 1);
      throw restErrorOf(error);
    }
  }

  /** Takes a write token; returns the writes left (`x-ms-ratelimit-remaining-subscription-writes`). */
  admitWrite(): number {
    if (this.#bucket === undefined) return 1199;
    const take = this.#bucket.take();
    if (!take.ok) {
      const seconds = Math.max(1, Math.ceil(take.waitMs / 1000));
      throw new ArmApiError(429, 'SubscriptionRequestsThrottled', 'Number of write requests for the subscription exceeded its limit.', seconds);
    }
    return take.remaining;
  }

  totalCalls(filter: (operation: string) => boolean = () => true): number {
    let sum = 0;
    for (const [operation, n] of this.calls) if (filter(operation)) sum += n;
    return sum;
  }
}

/** The value `@azure/core-rest-pipeline` throws for an ARM error answer, as the mapping reads it. */
function restErrorOf(error: ArmApiError): unknown {
  const retryAfter = error.retryAfterSec === undefined ? undefined : String(error.retryAfterSec);
  return {
    name: 'RestError',
    code: error.code,
    message: error.message,
    statusCode: error.status,
    response: { headers: { get: (name: string) => (name.toLowerCase() === 'retry-after' ? retryAfter : undefined) } },
  };
}

/** The NIC changed since it was read (HTTP 412): read it again and recompute, as the real provider does. */
class EtagMismatch extends Error {}

const MAX_WRITE_ATTEMPTS = 4;

/** The CloudProvider a simulated Azure node's pool manager talks to. */
export class SimAzureProvider implements CloudProvider {
  readonly name = 'azure-sim';
  readonly #sub: SimSubscription;
  readonly #vmId: string;
  readonly #queues = new Map<string, Promise<unknown>>();
  #remainingWrites: number | undefined;
  #vnetCidrs: readonly string[] | undefined;
  /** The NICs of the last describe by MAC, as the real provider keeps them. */
  #knownNics: ReadonlyMap<string, KnownNic> = new Map();

  constructor(subscription: SimSubscription, vmId: string) {
    this.#sub = subscription;
    this.#vmId = vmId;
  }

  /** This provider without observeNode: every reconcile reads the VM and its NICs from ARM (the behaviour before it). */
  describeOnly(): CloudProvider {
    return {
      name: this.name,
      describeNode: () => this.describeNode(),
      assignAddresses: (interfaceId, count) => this.assignAddresses(interfaceId, count),
      createInterface: () => this.createInterface(),
      releaseAddresses: (interfaceId, addresses) => this.releaseAddresses(interfaceId, addresses),
      deleteInterface: (interfaceId) => this.deleteInterface(interfaceId),
    };
  }

  /** The node's NICs from its (lagging) IMDS view, decoded as the real provider does; no ARM call. */
  async observeNode(): Promise<NodeObservation> {
    const { clock, latencies } = this.#sub;
    this.#sub.imdsReads += 1;
    await clock.sleep(latencies.imdsRead);
    return observationFromImds(decodeNetworkMetadata(this.#sub.imdsNetwork(this.#vmId)), this.#knownNics);
  }

  async describeNode(): Promise<NodeSnapshot> {
    const { state, latencies } = this.#sub;
    const vm = await this.#sub.request('GetVirtualMachine', latencies.read, () => state.vm(this.#vmId));
    if (vm === undefined) throw new CloudError('NotFound', `GET virtual machine: ${this.#vmId} not found`);
    const nics = await Promise.all(vm.nicIds.map((id) => this.#getNic(id)));
    const interfaces: CloudInterface[] = [];
    for (const nic of nics) {
      const subnetId = primaryConfig(nic.configs)?.subnetId;
      const cloud = nicInterface(nic, interfaces.length, subnetId === undefined ? undefined : state.subnets.get(subnetId.toLowerCase())?.cidr);
      if (cloud !== undefined) interfaces.push(cloud);
    }
    const primary = interfaces[0];
    if (primary === undefined) throw new CloudError('NotFound', `VM ${vm.name} has no NIC with a primary IP configuration`);
    this.#knownNics = new Map(interfaces.map((i) => [i.mac, { id: i.id, deviceIndex: i.deviceIndex }]));
    this.#vnetCidrs ??= await this.#sub.request('GetVirtualNetwork', latencies.read, () => [state.vnetCidr]);
    return {
      instanceId: vm.id,
      instanceType: vm.vmSize,
      primaryIp: primary.primaryIp,
      vpcCidrs: this.#vnetCidrs,
      limits: { maxInterfaces: nics.length, ipv4PerInterface: MAX_IP_CONFIGS_PER_NIC },
      interfaces,
    };
  }

  assignAddresses(interfaceId: string, count: number): Promise<string[]> {
    if (count <= 0) return Promise.resolve([]);
    return this.#serial(interfaceId, () =>
      this.#withRetries(interfaceId, async (nic) => {
        const subnetId = primaryConfig(nic.configs)?.subnetId;
        if (subnetId === undefined) throw new CloudError('InvalidRequest', `NIC ${interfaceId} has no primary IP configuration with a subnet`);
        const plan = planAppend(nic.configs, { count, batchSize: this.#sub.batchSize });
        if (plan.kind === 'full') {
          throw new CloudError('AddressLimit', `network interface ${interfaceId} holds ${plan.configs} IP configurations, Azure's limit is ${MAX_IP_CONFIGS_PER_NIC}`);
        }
        await this.#write(nic, { remove: [], add: plan.names, subnetId });
        const after = await this.#getNic(interfaceId);
        const wanted = new Set(plan.names);
        return after.configs.filter((c) => wanted.has(c.name) && isUsableOurs(c)).map((c) => c.address as string);
      }),
    );
  }

  releaseAddresses(interfaceId: string, addresses: readonly string[]): Promise<void> {
    if (addresses.length === 0) return Promise.resolve();
    return this.#serial(interfaceId, () =>
      this.#withRetries(interfaceId, async (nic) => {
        const plan = planRemoval(nic.configs, addresses);
        if (plan.names.length === 0) return;
        await this.#write(nic, { remove: plan.names, add: [], subnetId: primaryConfig(nic.configs)?.subnetId ?? '' });
      }),
    );
  }

  createInterface(): Promise<CloudInterface> {
    return Promise.reject(noNicCreation());
  }

  deleteInterface(interfaceId: string): Promise<void> {
    return Promise.reject(noNicDeletion(interfaceId));
  }

  async #withRetries<T>(nicId: string, attempt: (nic: SimNic) => Promise<T>): Promise<T> {
    for (let i = 1; ; i += 1) {
      const nic = await this.#getNic(nicId);
      try {
        return await attempt(nic);
      } catch (error) {
        if (!(error instanceof EtagMismatch)) throw error;
        if (i >= MAX_WRITE_ATTEMPTS) {
          throw new CloudError('Transient', `NIC ${nicId} kept changing under ${MAX_WRITE_ATTEMPTS} writes (HTTP 412 each time); will try again`, { cloudCode: 'PreconditionFailed' });
        }
      }
    }
  }

  /** One PUT with the ETag read, then polls of its operation until it ends, then the SDK's final GET. */
  async #write(nic: SimNic, change: { remove: readonly string[]; add: readonly string[]; subnetId: string }): Promise<void> {
    const { state, latencies, clock } = this.#sub;
    const pacing = writePacingDelayMs(this.#remainingWrites);
    if (pacing > 0) await clock.sleep(pacing);
    const context: ArmErrorContext = { action: 'PUT network interface', resource: nic.id, subnetId: change.subnetId };
    let operation: OperationRecord;
    try {
      operation = await this.#sub.request('PutNetworkInterface', latencies.write, () => {
        const record = this.#nicRecord(nic.id);
        this.#remainingWrites = this.#sub.admitWrite();
        const added: DesiredConfig[] = change.add.map((name) => ({ name, primary: false, subnetId: change.subnetId, allocation: 'Dynamic', address: undefined }));
        const current: DesiredConfig[] = state.visibleConfigs(record).map((c) => ({ name: c.name, primary: c.primary, subnetId: c.subnetId, allocation: c.allocation, address: c.address }));
        const desired = applyIpConfigChange(current, { remove: change.remove, add: added });
        return state.startNicUpdate(record, desired, { ifMatch: nic.etag, etagOf: () => record.etag, target: record.id });
      });
    } catch (error) {
      if (isPreconditionFailed(error)) throw new EtagMismatch(`NIC ${nic.id} changed since it was read`);
      throw mapArmError(error, context, clock.now());
    }
    for (;;) {
      await clock.sleep(latencies.poll);
      const status = await this.#sub.request('GetOperation', latencies.read, () => operation.status);
      if (status !== 'InProgress') break;
    }
    if (operation.status === 'Failed') {
      const failure = new Error(`The long-running operation has failed. ${operation.error?.code ?? 'Failed'}. ${operation.error?.message ?? ''}`);
      throw mapArmError(failure, context, clock.now());
    }
    await this.#getNic(nic.id);
  }

  async #getNic(nicId: string): Promise<SimNic> {
    const { state, latencies, clock } = this.#sub;
    try {
      return await this.#sub.request('GetNetworkInterface', latencies.read, () => nicView(state, this.#nicRecord(nicId)));
    } catch (error) {
      throw mapArmError(error, { action: 'GET network interface', resource: nicId }, clock.now());
    }
  }

  #nicRecord(nicId: string): NicRecord {
    const record = this.#sub.state.nic(nicId);
    if (record === undefined) throw new ArmApiError(404, 'ResourceNotFound', `The Resource '${nicId}' was not found.`);
    return record;
  }

  #serial<T>(nicId: string, task: () => Promise<T>): Promise<T> {
    const run = (this.#queues.get(nicId) ?? Promise.resolve()).then(task, task);
    this.#queues.set(
      nicId,
      run.catch(() => undefined),
    );
    return run;
  }
}

/** A NIC as a GET answers it: the goal state while an operation runs. */
interface SimNic {
  readonly id: string;
  readonly etag: string;
  readonly mac: string | undefined;
  readonly configs: readonly IpConfigView[];
}

function nicView(state: AzureState, record: NicRecord): SimNic {
  return {
    id: record.id,
    etag: record.etag,
    mac: normaliseMac(record.mac),
    configs: state.visibleConfigs(record).map((c) => ({ name: c.name, primary: c.primary, address: c.address, subnetId: c.subnetId, provisioningState: c.provisioningState })),
  };
}
