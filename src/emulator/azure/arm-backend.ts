/**
 * The emulated Azure subscription in-process: the ARM emulator's state model (NICs, IP
 * configurations, ETags, long-running operations, the 256 limit, full subnets, another operation
 * in flight), its subscription write bucket, its fault plan and per-operation latencies, called as
 * one typed method per ARM request on an injected clock instead of over https, so a simulator can
 * run many VMs on simulated time. Each VM has an in-process IMDS whose network part shows ARM's
 * committed state `imdsPropagationMs` late. Requests are counted under the names the https
 * emulator (arm-server.ts) uses: `GetVirtualMachine`, `GetNetworkInterface`, `PutNetworkInterface`,
 * `GetOperation`, ….
 *
 * Answers are plain data in ARM's terms (the NIC's MAC as ARM shows it, `00-0D-3A-…`); failures
 * are what ARM would answer ({@link ArmApiError}: status, code, message, Retry-After) or no answer
 * ({@link ArmNoAnswer}). Turning those into a client's records and errors is the client's: this file
 * knows no provider (emulators never import providers).
 */
import { FaultPlan, type FaultPlanSpec, type FaultRule } from '../faults/fault-plan.js';
import { emulatorFaults, type EmulatorFaults } from '../faults/index.js';
import { seededIdSource } from '../shared/ids.js';
import { ARM_FAULT_KINDS, armFaultApplies, armFaultError } from './arm-faults.js';
import type { DesiredConfig, NicRecord, OperationRecord, VmRecord } from './arm-model.js';
import { imdsInstanceJson, imdsNetworkJson } from './arm-render.js';
import { AzureState, type CreateVmOptions } from './arm-state.js';
import { ArmApiError } from './errors.js';
import { DEFAULT_AZURE_IMDS_PROPAGATION_MS, LaggedView } from './imds-lag.js';
import { ARM_WRITE_BUCKET, WriteBucket } from './write-bucket.js';

export { ArmApiError } from './errors.js';

/** A request ARM never answered: the reply was lost (`reset`) or did not come before the client gave up (`timeout`). */
export class ArmNoAnswer extends Error {
  override readonly name = 'ArmNoAnswer';
  readonly reason: 'reset' | 'timeout';

  constructor(operation: string, reason: 'reset' | 'timeout') {
    super(reason === 'reset' ? `${operation}: the connection was reset before the reply` : `${operation}: no reply before the client gave up`);
    this.reason = reason;
  }
}

export interface ArmIpConfigView {
  readonly name: string;
  readonly primary: boolean;
  readonly address: string;
  readonly subnetId: string;
  readonly allocation: 'Dynamic' | 'Static';
  readonly provisioningState: string;
}

/** A NIC as a GET answers it: the goal state while an operation runs. */
export interface ArmNicView {
  readonly id: string;
  readonly etag: string;
  /** As ARM shows it: `00-0D-3A-12-34-56`. */
  readonly macAddress: string;
  readonly primary: boolean;
  /** `Updating` while an operation runs, else `Succeeded`. */
  readonly provisioningState: string;
  readonly ipConfigurations: readonly ArmIpConfigView[];
}

export interface ArmVmView {
  readonly id: string;
  readonly name: string;
  readonly vmSize: string;
  /** The instance model's ETag (Uniform scale-set instances are written with it). */
  readonly etag: string;
  /** The VM's NICs in its order. */
  readonly networkInterfaces: readonly { readonly id: string; readonly primary: boolean }[];
}

/** ARM's answer to an accepted write. */
export interface ArmAccepted {
  readonly nic: ArmNicView;
  /** The long-running operation to poll (`Azure-AsyncOperation`). */
  readonly operationId: string;
  /** `x-ms-ratelimit-remaining-subscription-writes`. */
  readonly remainingWrites: number;
}

export interface ArmBackendOptions {
  /** Epoch ms; the simulators' virtual clock. */
  readonly clock: () => number;
  /** Waits on the same clock. */
  readonly sleep: (ms: number) => Promise<void>;
  /** Default `10.1.0.0/16`. */
  readonly vnetCidr?: string;
  /** Default one subnet `nodes`, the whole VNet. */
  readonly subnets?: readonly { readonly name: string; readonly cidr: string }[];
  /** How long an accepted write stays InProgress (real NIC PUTs: 10–60 s). */
  readonly operationLatencyMs: number;
  /** Per operation (`GetNetworkInterface`, `PutNetworkInterface`, …): waited before it runs. Default 0. */
  readonly latencyMs?: Readonly<Partial<Record<string, number>>>;
  /** How far each VM's IMDS network view trails ARM. Default {@link DEFAULT_AZURE_IMDS_PROPAGATION_MS}. */
  readonly imdsPropagationMs?: number;
  /** One IMDS GET. Default 0. */
  readonly imdsLatencyMs?: number;
  /** The subscription's write bucket: on (200 burst, 10/s), off, or of this size. Default off. */
  readonly throttling?: boolean | { readonly capacity: number; readonly refillPerSecond: number };
  readonly faults?: FaultPlanSpec;
  /** How long a client waits for a request a `timeout` fault holds before it gives up. Default 30 s, the provider's. */
  readonly clientTimeoutMs?: number;
  /** Seed of ids, MACs, ETags and the fault plan's draws. Default 7. */
  readonly seed?: number;
}

const DEFAULT_CLIENT_TIMEOUT_MS = 30_000;
const lower = (id: string) => id.toLowerCase();

export class ArmBackend {
  readonly state: AzureState;
  /** Requests per operation, refused ones included. */
  readonly calls = new Map<string, number>();
  /** Requests answered 429, per operation. */
  readonly throttled = new Map<string, number>();
  /** IMDS GETs by every VM; not ARM calls. */
  imdsReads = 0;
  readonly faults: EmulatorFaults;
  readonly #options: ArmBackendOptions;
  readonly #plan: FaultPlan;
  readonly #bucket: WriteBucket | undefined;
  readonly #imds = new Map<string, LaggedView<Record<string, unknown>>>();
  /** Lower-case ids of IP configurations a PUT created, and when (NotFound-after-create). */
  readonly #created = new Map<string, number>();
  /** Set while operations are completed at the time they were due (see #settle). */
  #settlingAt: number | undefined;

  constructor(options: ArmBackendOptions) {
    this.#options = options;
    const seed = options.seed ?? 7;
    this.state = new AzureState({
      subscriptionId: '00000000-0000-4000-a000-000000000001',
      resourceGroup: 'nodes-rg',
      location: 'westeurope',
      vnetName: 'vnet',
      vnetCidr: options.vnetCidr ?? '10.1.0.0/16',
      subnets: options.subnets ?? [{ name: 'nodes', cidr: options.vnetCidr ?? '10.1.0.0/16' }],
      clock: () => this.#settlingAt ?? options.clock(),
      ids: seededIdSource(seed),
      operationLatencyMs: options.operationLatencyMs,
      onChange: () => this.#recordImds(),
    });
    this.#plan = new FaultPlan(options.faults, () => seed);
    this.faults = emulatorFaults(this.#plan, ARM_FAULT_KINDS, '(in-process: no control URL)');
    const bucket = options.throttling === true ? ARM_WRITE_BUCKET : options.throttling === false || options.throttling === undefined ? undefined : options.throttling;
    this.#bucket = bucket === undefined ? undefined : new WriteBucket({ ...bucket, clock: options.clock });
  }

  /** A running VM with its NICs (no request, no latency); returns its ARM id. */
  createVm(options: CreateVmOptions = {}): string {
    const vm = this.state.createVm(options);
    this.#imds.set(lower(vm.id), new LaggedView(this.#options.imdsPropagationMs ?? DEFAULT_AZURE_IMDS_PROPAGATION_MS));
    this.#recordImds();
    return vm.id;
  }

  totalCalls(filter: (operation: string) => boolean = () => true): number {
    let sum = 0;
    for (const [operation, n] of this.calls) if (filter(operation)) sum += n;
    return sum;
  }

  /** GET of a VM: standalone, Flexible or Uniform scale-set instance (`GetScaleSetVm`). */
  getVirtualMachine(vmId: string): Promise<ArmVmView> {
    const operation = /\/virtualMachineScaleSets\//i.test(vmId) ? 'GetScaleSetVm' : 'GetVirtualMachine';
    return this.#request(operation, vmId, () => {
      const vm = this.#vm(vmId);
      return { id: vm.id, name: vm.name, vmSize: vm.vmSize, etag: vm.etag, networkInterfaces: vm.nicIds.map((id) => ({ id, primary: this.state.nic(id)?.primary === true })) };
    });
  }

  /** GET of a NIC resource, or of a Uniform instance's NIC (`GetScaleSetVmNetworkInterface`). */
  getNetworkInterface(nicId: string): Promise<ArmNicView> {
    const operation = /\/virtualMachineScaleSets\//i.test(nicId) ? 'GetScaleSetVmNetworkInterface' : 'GetNetworkInterface';
    return this.#request(operation, nicId, () => this.#nicView(this.#nic(nicId)));
  }

  getVirtualNetwork(vnetId: string): Promise<{ readonly id: string; readonly addressPrefixes: readonly string[] }> {
    return this.#request('GetVirtualNetwork', vnetId, () => {
      if (lower(vnetId) !== lower(this.state.vnetId)) throw notFound(vnetId);
      return { id: this.state.vnetId, addressPrefixes: [this.state.vnetCidr] };
    });
  }

  /** PUT of a NIC with these configurations and `If-Match`: a long-running operation, accepted. */
  putNetworkInterface(nicId: string, configs: readonly DesiredConfig[], ifMatch: string | undefined): Promise<ArmAccepted> {
    return this.#request('PutNetworkInterface', nicId, (rule) => {
      const remainingWrites = this.#admitWrite();
      const nic = this.#nic(nicId);
      const vm = this.state.vm(nic.vmId);
      if (vm?.scaleSet?.mode === 'Uniform') throw new ArmApiError(400, 'OperationNotAllowed', `NIC ${nic.name} belongs to a Uniform scale-set instance; change it through the instance's network profile.`);
      if (rule?.kind === 'concurrentWrite') this.state.addForeignConfig(nic.id, rule.name);
      const fail = rule?.kind === 'failOperation' ? { fail: { code: rule.code, message: rule.message } } : {};
      return this.#accepted(nic, remainingWrites, () => this.state.startNicUpdate(nic, configs, { ifMatch, etagOf: () => nic.etag, target: nic.id, ...fail }));
    });
  }

  /** PUT of a Uniform scale-set instance whose network profile changes one NIC's configurations, with the instance's ETag. */
  putScaleSetVmNic(vmId: string, nicId: string, configs: readonly DesiredConfig[], ifMatch: string | undefined): Promise<ArmAccepted> {
    return this.#request('PutScaleSetVm', vmId, (rule) => {
      const remainingWrites = this.#admitWrite();
      const vm = this.#vm(vmId);
      const nic = this.#nic(nicId);
      const fail = rule?.kind === 'failOperation' ? { fail: { code: rule.code, message: rule.message } } : {};
      return this.#accepted(nic, remainingWrites, () => this.state.startNicUpdate(nic, configs, { ifMatch, etagOf: () => vm.etag, target: vm.id, ...fail }));
    });
  }

  /** GET of a long-running operation's status (`Azure-AsyncOperation`). */
  getOperation(operationId: string): Promise<{ readonly status: string; readonly error?: { readonly code: string; readonly message: string } }> {
    return this.#request('GetOperation', operationId, () => {
      const op = this.state.operations.get(operationId);
      if (op === undefined) throw notFound(operationId);
      return { status: op.status, ...(op.error === undefined ? {} : { error: op.error }) };
    });
  }

  /** IMDS `/metadata/instance` of a VM: its compute part and its (lagging) network part. Counted in {@link imdsReads}. */
  async imdsInstance(vmId: string): Promise<Record<string, unknown>> {
    const network = await this.imdsNetwork(vmId);
    return imdsInstanceJson(this.state, this.#vm(vmId), network);
  }

  /** IMDS `/metadata/instance/network` of a VM, as ARM had it `imdsPropagationMs` ago. Counted in {@link imdsReads}. */
  async imdsNetwork(vmId: string): Promise<Record<string, unknown>> {
    this.imdsReads += 1;
    const wait = this.#options.imdsLatencyMs ?? 0;
    if (wait > 0) await this.#options.sleep(wait);
    this.#settle();
    const vm = this.#vm(vmId);
    return this.#imds.get(lower(vm.id))?.viewAt(this.#options.clock()) ?? imdsNetworkJson(this.state, vm);
  }

  /** One request as arm-server.ts serves it: latency, due operations completed, counted, the fault plan, the operation, the fault's delivery. */
  async #request<T>(operation: string, resource: string, run: (rule: FaultRule | undefined) => T): Promise<T> {
    const wait = (ms: number) => (ms > 0 ? this.#options.sleep(ms) : Promise.resolve());
    await wait(this.#options.latencyMs?.[operation] ?? 0);
    this.#settle();
    this.calls.set(operation, (this.calls.get(operation) ?? 0) + 1);
    const giveUpMs = this.#options.clientTimeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS;
    let rule: FaultRule | undefined;
    let result: T;
    try {
      rule = this.#plan.decide(operation, (effect) => armFaultApplies(effect, operation, (windowMs) => this.#isYoung(resource, windowMs)));
      if (rule?.kind === 'timeout' && !rule.applied) {
        await wait(Math.min(rule.delayMs ?? giveUpMs, giveUpMs));
        if (rule.delayMs === undefined || rule.delayMs >= giveUpMs) throw new ArmNoAnswer(operation, 'timeout');
      }
      const injected = rule === undefined ? undefined : armFaultError(rule, operation, resource);
      if (injected !== undefined) throw injected;
      result = run(rule);
    } catch (error) {
      if (error instanceof ArmApiError && error.status === 429) this.throttled.set(operation, (this.throttled.get(operation) ?? 0) + 1);
      throw error;
    }
    switch (rule?.kind) {
      case 'replyLost':
        throw new ArmNoAnswer(operation, 'reset');
      case 'latency':
        await wait(rule.delayMs);
        break;
      case 'timeout':
        if (rule.applied) {
          await wait(Math.min(rule.delayMs ?? giveUpMs, giveUpMs));
          if (rule.delayMs === undefined || rule.delayMs >= giveUpMs) throw new ArmNoAnswer(operation, 'timeout');
        }
        break;
      default:
    }
    return result;
  }

  /** Starts the write and notes the configurations it creates (their NotFound-after-create window). */
  #accepted(nic: NicRecord, remainingWrites: number, start: () => OperationRecord): ArmAccepted {
    const before = new Set(this.state.visibleConfigs(nic).map((c) => lower(c.name)));
    const op = start();
    const now = this.#options.clock();
    for (const c of this.state.visibleConfigs(nic)) if (!before.has(lower(c.name))) this.#created.set(lower(`${nic.id}/ipConfigurations/${c.name}`), now);
    return { nic: this.#nicView(nic), operationId: op.id, remainingWrites };
  }

  /** Completes every operation that is due, each at the time it was due, so IMDS shows it from then. */
  #settle(): void {
    const now = this.#options.clock();
    for (let next = this.state.nextCompletion(); next !== undefined && next <= now; next = this.state.nextCompletion()) {
      this.#settlingAt = next;
      try {
        this.state.settle();
      } finally {
        this.#settlingAt = undefined;
      }
    }
  }

  #recordImds(): void {
    const at = this.#settlingAt ?? this.#options.clock();
    for (const [id, view] of this.#imds) {
      const vm = this.state.vm(id);
      if (vm === undefined) continue;
      const network = imdsNetworkJson(this.state, vm);
      view.record(at, network, JSON.stringify(network));
    }
  }

  #admitWrite(): number {
    if (this.#bucket === undefined) return 1199;
    const take = this.#bucket.take();
    if (!take.ok) {
      const seconds = Math.max(1, Math.ceil(take.waitMs / 1000));
      throw new ArmApiError(429, 'SubscriptionRequestsThrottled', `Number of write requests for subscription '${this.state.subscriptionId}' exceeded its limit.`, seconds);
    }
    return take.remaining;
  }

  #isYoung(resource: string, windowMs: number): boolean {
    const created = this.#created.get(lower(resource));
    return created !== undefined && this.#options.clock() - created < windowMs;
  }

  #nic(nicId: string): NicRecord {
    const nic = this.state.nic(nicId);
    if (nic === undefined) throw notFound(nicId);
    return nic;
  }

  #vm(vmId: string): VmRecord {
    const vm = this.state.vm(vmId);
    if (vm === undefined) throw notFound(vmId);
    return vm;
  }

  #nicView(nic: NicRecord): ArmNicView {
    return {
      id: nic.id,
      etag: nic.etag,
      macAddress: nic.mac,
      primary: nic.primary,
      provisioningState: nic.pending === undefined ? 'Succeeded' : 'Updating',
      ipConfigurations: this.state.visibleConfigs(nic).map((c) => ({ ...c })),
    };
  }
}

function notFound(id: string): ArmApiError {
  return new ArmApiError(404, 'ResourceNotFound', `The Resource '${id}' was not found.`);
}
