/**
 * The emulated Azure subscription: one resource group, one VNet with its subnets, VMs (standalone
 * or scale-set instances) with NICs and IP configurations, and the long-running operations that
 * change them. Driven by an injected clock; emits onChange after each committed change.
 */
import { AddressAllocator } from '../shared/address-allocator.js';
import { intToIpv4, parseAlignedCidr, tryIpv4ToInt } from '../../core/ipv4.js';
import type { IdSource } from '../shared/ids.js';
import type { DesiredConfig, IpConfigRecord, NicRecord, OperationRecord, ScaleSetMode, SubnetRecord, VmRecord } from './arm-model.js';
import { ArmApiError, IP_CONFIG_LIMIT_CODE } from './errors.js';

/** Azure's limit of IP configurations per NIC. */
export const MAX_CONFIGS_PER_NIC = 256;

export interface AzureStateOptions {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly location: string;
  readonly vnetName: string;
  readonly vnetCidr: string;
  readonly subnets: readonly { readonly name: string; readonly cidr: string }[];
  readonly clock: () => number;
  readonly ids: IdSource;
  /** How long an accepted write stays InProgress. */
  readonly operationLatencyMs: number;
  readonly onChange: () => void;
}

export interface CreateVmOptions {
  readonly name?: string;
  readonly vmSize?: string;
  /** NICs, the primary first. Default 1. */
  readonly nics?: number;
  /** Subnet name for every NIC; default the first subnet. */
  readonly subnet?: string;
  readonly scaleSet?: { readonly name: string; readonly mode: ScaleSetMode };
}

const lower = (id: string): string => id.toLowerCase();

export class AzureState {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly location: string;
  readonly vnetId: string;
  readonly vnetCidr: string;
  readonly subnets = new Map<string, SubnetRecord>();
  readonly vms = new Map<string, VmRecord>();
  readonly nics = new Map<string, NicRecord>();
  readonly operations = new Map<string, OperationRecord>();
  /** Bearer tokens issued by the IMDS token endpoints. */
  readonly tokens = new Set<string>();
  readonly #options: AzureStateOptions;
  #vmCounter = 0;
  #instanceCounters = new Map<string, number>();

  constructor(options: AzureStateOptions) {
    this.#options = options;
    this.subscriptionId = options.subscriptionId;
    this.resourceGroup = options.resourceGroup;
    this.location = options.location;
    this.vnetCidr = options.vnetCidr;
    this.vnetId = `${this.#groupId()}/providers/Microsoft.Network/virtualNetworks/${options.vnetName}`;
    for (const subnet of options.subnets) {
      const cidr = parseAlignedCidr(subnet.cidr);
      if (cidr === undefined) throw new Error(`subnet ${subnet.name}: ${subnet.cidr} is not an aligned IPv4 CIDR`);
      const id = `${this.vnetId}/subnets/${subnet.name}`;
      this.subnets.set(lower(id), { id, name: subnet.name, cidr: cidr.text, allocator: new AddressAllocator(cidr) });
    }
  }

  #groupId(): string {
    return `/subscriptions/${this.subscriptionId}/resourceGroups/${this.resourceGroup}`;
  }

  #etag(): string {
    return `W/"${this.#options.ids.hex(8)}-${this.#options.ids.hex(4)}-${this.#options.ids.hex(12)}"`;
  }

  #mac(): string {
    const hex = this.#options.ids.hex(6).toUpperCase();
    return ['00', '0D', '3A', hex.slice(0, 2), hex.slice(2, 4), hex.slice(4, 6)].join('-');
  }

  subnetByName(name: string): SubnetRecord {
    const found = [...this.subnets.values()].find((s) => s.name === name);
    if (found === undefined) throw new Error(`no subnet named ${name}`);
    return found;
  }

  /** Creates a running VM with its NICs, each with a primary dynamic IP configuration. */
  createVm(options: CreateVmOptions = {}): VmRecord {
    const subnet = options.subnet === undefined ? [...this.subnets.values()][0] : this.subnetByName(options.subnet);
    if (subnet === undefined) throw new Error('the emulated VNet has no subnet');
    const nicCount = options.nics ?? 1;
    if (!Number.isInteger(nicCount) || nicCount < 1 || nicCount > 8) throw new Error(`nics must be 1 to 8, got ${nicCount}`);
    if (subnet.allocator.freeCount < nicCount) throw new ArmApiError(400, 'SubnetIsFull', `Subnet ${subnet.name} with address prefix ${subnet.cidr} does not have enough capacity for ${nicCount} IP addresses.`);
    this.#vmCounter += 1;
    let id: string;
    let name: string;
    let scaleSet: VmRecord['scaleSet'];
    if (options.scaleSet !== undefined) {
      const n = this.#instanceCounters.get(options.scaleSet.name) ?? 0;
      this.#instanceCounters.set(options.scaleSet.name, n + 1);
      const instanceId = String(n);
      scaleSet = { name: options.scaleSet.name, mode: options.scaleSet.mode, instanceId };
      if (options.scaleSet.mode === 'Uniform') {
        name = `${options.scaleSet.name}_${instanceId}`;
        id = `${this.#groupId()}/providers/Microsoft.Compute/virtualMachineScaleSets/${options.scaleSet.name}/virtualMachines/${instanceId}`;
      } else {
        name = options.name ?? `${options.scaleSet.name}_${this.#options.ids.hex(8)}`;
        id = `${this.#groupId()}/providers/Microsoft.Compute/virtualMachines/${name}`;
      }
    } else {
      name = options.name ?? `vm${this.#vmCounter}`;
      id = `${this.#groupId()}/providers/Microsoft.Compute/virtualMachines/${name}`;
    }
    if (this.vms.has(lower(id))) throw new Error(`VM ${name} exists`);
    const nicIds: string[] = [];
    for (let i = 0; i < nicCount; i += 1) {
      const nicName = `${name}-nic${i}`;
      const nicId =
        scaleSet?.mode === 'Uniform'
          ? `${id}/networkInterfaces/${nicName}`
          : `${this.#groupId()}/providers/Microsoft.Network/networkInterfaces/${nicName}`;
      const address = subnet.allocator.allocate(1)?.[0];
      if (address === undefined) throw new ArmApiError(400, 'SubnetIsFull', `Subnet ${subnet.name} is full`);
      this.nics.set(lower(nicId), {
        id: nicId,
        name: nicName,
        mac: this.#mac(),
        vmId: id,
        primary: i === 0,
        etag: this.#etag(),
        configs: [{ name: 'ipconfig1', primary: true, address: intToIpv4(address), subnetId: subnet.id, allocation: 'Dynamic', provisioningState: 'Succeeded' }],
        pending: undefined,
        operationId: undefined,
      });
      nicIds.push(nicId);
    }
    const vm: VmRecord = { id, name, vmSize: options.vmSize ?? 'Standard_D4s_v5', vmId: this.#uuid(), nicIds, scaleSet, etag: this.#etag() };
    this.vms.set(lower(id), vm);
    this.#options.onChange();
    return vm;
  }

  #uuid(): string {
    const h = this.#options.ids.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }

  /** Deletes a VM and its NICs, freeing their addresses. Idempotent. */
  deleteVm(id: string): void {
    const vm = this.vms.get(lower(id));
    if (vm === undefined) return;
    for (const nicId of vm.nicIds) {
      const nic = this.nics.get(lower(nicId));
      if (nic === undefined) continue;
      for (const config of [...nic.configs, ...(nic.pending ?? [])]) this.#release(config);
      this.nics.delete(lower(nicId));
    }
    this.vms.delete(lower(id));
    this.#options.onChange();
  }

  vm(id: string): VmRecord | undefined {
    return this.vms.get(lower(id));
  }

  nic(id: string): NicRecord | undefined {
    return this.nics.get(lower(id));
  }

  /** The configurations GET answers: the goal state while an operation runs. */
  visibleConfigs(nic: NicRecord): readonly IpConfigRecord[] {
    return nic.pending ?? nic.configs;
  }

  /**
   * Starts a write of `desired` to the NIC: checks the ETag, that no other operation runs, the
   * limit and the subnet; allocates new dynamic addresses; returns the operation, InProgress.
   */
  startNicUpdate(
    nic: NicRecord,
    desired: readonly DesiredConfig[],
    options: { readonly ifMatch: string | undefined; readonly etagOf: () => string; readonly target: string; readonly fail?: { code: string; message: string } },
  ): OperationRecord {
    const now = this.#options.clock();
    if (nic.operationId !== undefined) {
      const running = this.operations.get(nic.operationId);
      const waitSec = running === undefined ? 1 : Math.max(1, Math.ceil((running.completesAt - now) / 1000));
      throw new ArmApiError(
        429,
        'RetryableErrorDueToAnotherOperation',
        `Operation PutNetworkInterfaceOperation on ${nic.name} is waiting on operation ${nic.operationId}, which is updating the resource. The call can be retried in ${waitSec} seconds.`,
        waitSec,
      );
    }
    if (options.ifMatch !== undefined && options.ifMatch !== '*' && options.ifMatch !== options.etagOf()) {
      throw new ArmApiError(412, 'PreconditionFailed', `The specified ETag ${options.ifMatch} does not match the current ETag ${options.etagOf()} of ${options.target}.`);
    }
    if (desired.length > MAX_CONFIGS_PER_NIC) {
      throw new ArmApiError(400, IP_CONFIG_LIMIT_CODE, `Network interface ${nic.name} would have ${desired.length} IP configurations; at most ${MAX_CONFIGS_PER_NIC} are allowed.`);
    }
    const names = new Set<string>();
    for (const d of desired) {
      if (names.has(d.name.toLowerCase())) throw new ArmApiError(400, 'DuplicateResourceName', `IP configuration name ${d.name} is used twice.`);
      names.add(d.name.toLowerCase());
    }
    const current = new Map(nic.configs.map((c) => [c.name.toLowerCase(), c]));
    const primary = nic.configs.find((c) => c.primary);
    if (primary !== undefined && !names.has(primary.name.toLowerCase())) {
      throw new ArmApiError(400, 'PrimaryIpConfigurationCannotBeDeleted', `IP configuration ${primary.name} is the primary of ${nic.name} and cannot be removed.`);
    }
    const fresh = desired.filter((d) => !current.has(d.name.toLowerCase()));
    const bySubnet = new Map<string, number>();
    for (const d of fresh) {
      if (d.subnetId === undefined) throw new ArmApiError(400, 'InvalidRequestFormat', `IP configuration ${d.name} has no subnet.`);
      const subnet = this.subnets.get(lower(d.subnetId));
      if (subnet === undefined) throw new ArmApiError(400, 'InvalidResourceReference', `Subnet ${d.subnetId} of IP configuration ${d.name} does not exist.`);
      if (d.allocation === 'Dynamic') bySubnet.set(subnet.id, (bySubnet.get(subnet.id) ?? 0) + 1);
    }
    for (const [subnetId, count] of bySubnet) {
      const subnet = this.subnets.get(lower(subnetId));
      if (subnet !== undefined && subnet.allocator.freeCount < count) {
        throw new ArmApiError(400, 'SubnetIsFull', `Subnet ${subnet.name} with address prefix ${subnet.cidr} does not have enough capacity for ${count} IP addresses.`);
      }
    }
    const next: IpConfigRecord[] = desired.map((d) => {
      const kept = current.get(d.name.toLowerCase());
      if (kept !== undefined) return { ...kept };
      const subnet = this.subnets.get(lower(d.subnetId ?? ''));
      if (subnet === undefined) throw new Error('unreachable: subnet checked');
      let address: number | undefined;
      if (d.allocation === 'Static' && d.address !== undefined) {
        address = tryIpv4ToInt(d.address);
        if (address === undefined || !subnet.allocator.contains(address) || subnet.allocator.isReserved(address) || subnet.allocator.isUsed(address)) {
          throw new ArmApiError(400, 'PrivateIPAddressNotAvailable', `Private IP address ${d.address} is not available in subnet ${subnet.name}.`);
        }
        subnet.allocator.claim(address);
      } else {
        address = subnet.allocator.allocate(1)?.[0];
        if (address === undefined) throw new Error('unreachable: capacity checked');
      }
      return { name: d.name, primary: false, address: intToIpv4(address), subnetId: subnet.id, allocation: d.allocation, provisioningState: 'Updating' };
    });
    const operation: OperationRecord = {
      id: this.#uuid(),
      nicId: nic.id,
      target: options.target,
      completesAt: now + this.#options.operationLatencyMs,
      status: 'InProgress',
      fail: options.fail,
      error: undefined,
    };
    this.operations.set(operation.id, operation);
    nic.pending = next;
    nic.operationId = operation.id;
    nic.etag = this.#etag();
    return operation;
  }

  /** Completes every operation that is due. Returns true when something changed. */
  settle(): boolean {
    const now = this.#options.clock();
    let changed = false;
    for (const op of this.operations.values()) {
      if (op.status !== 'InProgress' || op.completesAt > now) continue;
      const nic = this.nics.get(lower(op.nicId));
      changed = true;
      if (nic === undefined || nic.pending === undefined) {
        op.status = 'Failed';
        op.error = { code: 'NotFound', message: `Resource ${op.nicId} was deleted while the operation ran.` };
        continue;
      }
      const pending = nic.pending;
      const before = new Set(nic.configs.map((c) => c.name.toLowerCase()));
      const after = new Set(pending.map((c) => c.name.toLowerCase()));
      if (op.fail !== undefined) {
        for (const c of pending) if (!before.has(c.name.toLowerCase())) this.#release(c);
        op.status = 'Failed';
        op.error = op.fail;
      } else {
        for (const c of nic.configs) if (!after.has(c.name.toLowerCase())) this.#release(c);
        nic.configs = pending.map((c) => ({ ...c, provisioningState: 'Succeeded' }));
        op.status = 'Succeeded';
      }
      nic.pending = undefined;
      nic.operationId = undefined;
      nic.etag = this.#etag();
      const vm = this.vms.get(lower(nic.vmId));
      if (vm !== undefined) vm.etag = this.#etag();
    }
    if (changed) this.#options.onChange();
    return changed;
  }

  /** Earliest completion time of an operation in flight. */
  nextCompletion(): number | undefined {
    const due = [...this.operations.values()].filter((o) => o.status === 'InProgress').map((o) => o.completesAt);
    return due.length === 0 ? undefined : Math.min(...due);
  }

  /** Another writer (a person, another tool) adds a static-looking configuration: changes the ETag. */
  addForeignConfig(nicId: string, name: string): string {
    const nic = this.nics.get(lower(nicId));
    if (nic === undefined) throw new Error(`no NIC ${nicId}`);
    const subnetId = nic.configs.find((c) => c.primary)?.subnetId ?? '';
    const subnet = this.subnets.get(lower(subnetId));
    const address = subnet?.allocator.allocate(1)?.[0];
    if (subnet === undefined || address === undefined) throw new Error(`cannot allocate for ${name}`);
    const config: IpConfigRecord = { name, primary: false, address: intToIpv4(address), subnetId: subnet.id, allocation: 'Dynamic', provisioningState: 'Succeeded' };
    nic.configs = [...nic.configs, config];
    if (nic.pending !== undefined) nic.pending = [...nic.pending, config];
    nic.etag = this.#etag();
    this.#options.onChange();
    return config.address;
  }

  #release(config: IpConfigRecord): void {
    const subnet = this.subnets.get(lower(config.subnetId));
    const address = tryIpv4ToInt(config.address);
    if (subnet !== undefined && address !== undefined) subnet.allocator.release(address);
  }
}
