/**
 * The Azure emulator: ARM over https (self-signed certificate) and one Azure IMDS per VM, sharing
 * one state. `startAzureEmulator` is what tests, the demo and `nativeip emulator azure` use.
 */
import { randomInt } from 'node:crypto';
import { seededIdSource } from '../shared/ids.js';
import { subnetGateway } from '../../core/ipv4.js';
import { ArmServer } from './arm-server.js';
import { AzureState, type CreateVmOptions } from './arm-state.js';
import type { AzureFault } from './faults.js';
import { DEFAULT_AZURE_IMDS_PROPAGATION_MS } from './imds-lag.js';
import { AzureImdsServer } from './imds-server.js';
import { selfSignedFor } from './tls.js';
import { ARM_WRITE_BUCKET, WriteBucket } from './write-bucket.js';
import { ARM_FAULT_KINDS } from './arm-faults.js';
import { FAULT_CONTROL_PATH } from '../faults/fault-control.js';
import { FaultPlan, type FaultPlanSpec } from '../faults/fault-plan.js';
import { emulatorFaults, type EmulatorFaults } from '../faults/index.js';

export type { AzureFault } from './faults.js';
export { ARM_FAULT_KINDS } from './arm-faults.js';
export type { EmulatorFaults, FaultRuleInput } from '../faults/index.js';
export { DEFAULT_AZURE_IMDS_PROPAGATION_MS } from './imds-lag.js';
export type { CreateVmOptions } from './arm-state.js';
export { MAX_CONFIGS_PER_NIC } from './arm-state.js';
export { ArmApiError, IP_CONFIG_LIMIT_CODE } from './errors.js';

export interface AzureEmulatorOptions {
  /** Address every listener binds; default `127.0.0.1`. */
  host?: string;
  /** ARM port; 0 (default) picks a free one. IMDS listeners always pick free ports. */
  port?: number;
  subscriptionId?: string;
  resourceGroup?: string;
  location?: string;
  /** Default `10.1.0.0/16`. */
  vnetCidr?: string;
  /** Default one subnet `nodes`, `10.1.0.0/20`. The first is where VMs go by default. */
  subnets?: { name: string; cidr: string }[];
  /** How long an accepted write stays InProgress (real NIC PUTs: 10–60 s). Default 0. */
  operationLatencyMs?: number;
  /** Delay before each ARM request is handled. Default 0. */
  requestLatencyMs?: number;
  /**
   * How long after ARM committed a change the VM's IMDS network view shows it. Default
   * {@link DEFAULT_AZURE_IMDS_PROPAGATION_MS}; 0 shows every change at once.
   */
  imdsPropagationMs?: number;
  /** Retry-After on long-running-operation answers (the SDK polls after it); default none. */
  lroRetryAfterSec?: number;
  /** ARM's write bucket (200 burst, 10/s); `false` disables it. Default on. */
  throttling?: boolean | { capacity: number; refillPerSecond: number };
  /** Time source in epoch ms; default `Date.now`. */
  clock?: () => number;
  /** Seed for ids and MACs; default random. */
  seed?: number;
  /** Faults to inject from the start (parse text with `parseFaultSpec`); change them later through `faults`. */
  faults?: FaultPlanSpec;
}

export interface CreatedVm {
  /** ARM resource id: what the daemon reports as its instance id. */
  readonly vmId: string;
  readonly name: string;
  /** Base URL of this VM's IMDS. */
  readonly imdsUrl: string;
  readonly nicIds: readonly string[];
  readonly primaryIp: string;
  /** Lower case, colon separated. */
  readonly mac: string;
}

/** A NIC as the emulator holds it (committed state, or the goal while an operation runs). */
export interface NicSnapshot {
  readonly id: string;
  readonly etag: string;
  readonly updating: boolean;
  readonly configs: readonly { readonly name: string; readonly primary: boolean; readonly address: string; readonly provisioningState: string }[];
}

/** The shape the network-namespace fabric reads (structurally its `FabricTopology`). */
export interface AzureTopology {
  readonly networkCidr: string;
  readonly instances: readonly {
    readonly instanceId: string;
    readonly interfaces: readonly {
      readonly interfaceId: string;
      readonly mac: string;
      readonly deviceIndex: number;
      readonly subnetCidr: string;
      readonly gateway: string;
      readonly primaryIp: string;
      readonly secondaryIps: readonly string[];
    }[];
  }[];
}

export interface AzureEmulator {
  readonly armUrl: string;
  /** PEM certificate of the ARM endpoint: the CA bundle clients must trust. */
  readonly caCert: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly location: string;
  readonly vnetId: string;
  /** Creates a running VM with its NICs and starts its IMDS. */
  createVm(options?: CreateVmOptions): Promise<CreatedVm>;
  /** Deletes the VM, its NICs and addresses, and stops its IMDS. Idempotent. */
  deleteVm(vmId: string): Promise<void>;
  /** Committed state for the fabric: every address each NIC holds. */
  topology(): AzureTopology;
  subnets(): { id: string; name: string; cidr: string; free: number }[];
  nic(nicId: string): NicSnapshot | undefined;
  /** Another writer adds an IP configuration to the NIC (changes its ETag); returns its address. */
  addForeignConfig(nicId: string, name: string): string;
  /** Adds a one-shot fault for the next write: a count-1 rule of `faults` on `Put*` (`PutNetworkInterface` for concurrentWrite). */
  injectFault(fault: AzureFault): void;
  /**
   * The fault plan for ARM operations (named as in `callCounts`: `PutNetworkInterface`,
   * `GetNetworkInterface`, `GetNetworkInterfaceIpConfiguration`, `GetOperation`, …); IMDS is not
   * subject to it. Kinds: every one of the plan (see arm-faults.ts).
   */
  readonly faults: EmulatorFaults;
  operations(): { id: string; nicId: string; status: string }[];
  /** Fires after every committed change. Returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
  /** Calls per operation (`GetNetworkInterface`, `PutNetworkInterface`, `GetOperation`, `ImdsToken`, `ImdsNetwork`, …). */
  callCounts(): Record<string, number>;
  /** Writes answered 429, per operation. */
  throttledCounts(): Record<string, number>;
  resetCounts(): void;
  close(): Promise<void>;
}

export async function startAzureEmulator(options: AzureEmulatorOptions = {}): Promise<AzureEmulator> {
  const host = options.host ?? '127.0.0.1';
  const clock = options.clock ?? Date.now;
  const listeners = new Set<() => void>();
  const imds = new Map<string, AzureImdsServer>();
  const imdsCalls = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  const state = new AzureState({
    subscriptionId: options.subscriptionId ?? '00000000-0000-4000-8000-0000000c0de5',
    resourceGroup: options.resourceGroup ?? 'nativeip-rg',
    location: options.location ?? 'eastus',
    vnetName: 'nativeip-vnet',
    vnetCidr: options.vnetCidr ?? '10.1.0.0/16',
    subnets: options.subnets ?? [{ name: 'nodes', cidr: '10.1.0.0/20' }],
    clock,
    ids: seededIdSource(options.seed ?? randomInt(2 ** 31)),
    operationLatencyMs: options.operationLatencyMs ?? 0,
    onChange: () => {
      for (const listener of imds.values()) listener.record();
      for (const listener of [...listeners]) listener();
    },
  });

  /** Completes operations on time, so the fabric and IMDS follow without a request. */
  function scheduleSettle(): void {
    if (timer !== undefined) return;
    const due = state.nextCompletion();
    if (due === undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      state.settle();
      scheduleSettle();
    }, Math.max(0, due - clock()) + 1);
    timer.unref();
  }

  const throttling = options.throttling ?? true;
  const tls = await selfSignedFor(host);
  const faults = new FaultPlan(options.faults, () => randomInt(2 ** 31));
  const server = new ArmServer({
    state,
    tls,
    writeBucket: throttling === false ? undefined : new WriteBucket({ ...(throttling === true ? ARM_WRITE_BUCKET : throttling), clock }),
    requestLatencyMs: options.requestLatencyMs ?? 0,
    lroRetryAfterSec: options.lroRetryAfterSec,
    afterRequest: scheduleSettle,
    faults,
    clock,
  });
  await server.start(host, options.port ?? 0);
  const count = (operation: string) => imdsCalls.set(operation, (imdsCalls.get(operation) ?? 0) + 1);

  return {
    armUrl: server.url,
    caCert: tls.cert,
    subscriptionId: state.subscriptionId,
    resourceGroup: state.resourceGroup,
    location: state.location,
    vnetId: state.vnetId,
    async createVm(vmOptions = {}) {
      const vm = state.createVm(vmOptions);
      server.noteCreated([vm.id, ...vm.nicIds.flatMap((id) => [id, ...(state.nic(id)?.configs.map((c) => `${id}/ipConfigurations/${c.name}`) ?? [])])]);
      const listener = new AzureImdsServer({ state, vmId: vm.id, count, clock, propagationMs: options.imdsPropagationMs ?? DEFAULT_AZURE_IMDS_PROPAGATION_MS });
      await listener.start(host);
      imds.set(vm.id.toLowerCase(), listener);
      const primary = state.nic(vm.nicIds[0] ?? '');
      return {
        vmId: vm.id,
        name: vm.name,
        imdsUrl: listener.url,
        nicIds: vm.nicIds,
        primaryIp: primary?.configs[0]?.address ?? '',
        mac: (primary?.mac ?? '').toLowerCase().replace(/-/g, ':'),
      };
    },
    async deleteVm(vmId) {
      state.deleteVm(vmId);
      const listener = imds.get(vmId.toLowerCase());
      imds.delete(vmId.toLowerCase());
      await listener?.close();
    },
    topology() {
      state.settle();
      return {
        networkCidr: state.vnetCidr,
        instances: [...state.vms.values()].map((vm) => ({
          instanceId: vm.id,
          interfaces: vm.nicIds.flatMap((id, deviceIndex) => {
            const nic = state.nic(id);
            const primary = nic?.configs.find((c) => c.primary);
            const subnet = primary === undefined ? undefined : state.subnets.get(primary.subnetId.toLowerCase());
            if (nic === undefined || primary === undefined || subnet === undefined) return [];
            return [
              {
                interfaceId: nic.id,
                mac: nic.mac.toLowerCase().replace(/-/g, ':'),
                deviceIndex,
                subnetCidr: subnet.cidr,
                gateway: subnetGateway(subnet.cidr),
                primaryIp: primary.address,
                secondaryIps: nic.configs.filter((c) => !c.primary).map((c) => c.address),
              },
            ];
          }),
        })),
      };
    },
    subnets: () => [...state.subnets.values()].map((s) => ({ id: s.id, name: s.name, cidr: s.cidr, free: s.allocator.freeCount })),
    nic(nicId) {
      state.settle();
      const nic = state.nic(nicId);
      if (nic === undefined) return undefined;
      return {
        id: nic.id,
        etag: nic.etag,
        updating: nic.pending !== undefined,
        configs: state.visibleConfigs(nic).map((c) => ({ name: c.name, primary: c.primary, address: c.address, provisioningState: c.provisioningState })),
      };
    },
    addForeignConfig: (nicId, name) => state.addForeignConfig(nicId, name),
    injectFault: (fault) => server.injectFault(fault),
    faults: emulatorFaults(faults, ARM_FAULT_KINDS, `${server.url}${FAULT_CONTROL_PATH}`),
    operations: () => [...state.operations.values()].map((o) => ({ id: o.id, nicId: o.nicId, status: o.status })),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    callCounts: () => Object.fromEntries([...server.calls, ...imdsCalls]),
    throttledCounts: () => Object.fromEntries(server.throttled),
    resetCounts() {
      server.resetCounts();
      imdsCalls.clear();
    },
    async close() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      listeners.clear();
      await Promise.all([server.close(), ...[...imds.values()].map((l) => l.close())]);
      imds.clear();
    },
  };
}
