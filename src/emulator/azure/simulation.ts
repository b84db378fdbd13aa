/**
 * One Azure subscription for the simulators (src/core/simulation.ts): the emulated ARM in-process
 * on simulated time (arm-backend.ts: the emulator's state model with long-running NIC PUTs, ETags
 * and another operation in flight, the subscription's write bucket, latencies, a lagging IMDS per
 * VM). The Azure provider folder runs the real AzureProvider on its VMs
 * (src/providers/azure/simulated-provider.ts); this folder knows no provider.
 */
import type { SimulatedAccount, SimulatedAccountOptions, SimulatedMachine } from '../../core/simulation.js';
import type { EmulatorSimulation } from '../emulator-plugin.js';
import { ArmBackend } from './arm-backend.js';
import { DEFAULT_AZURE_IMDS_PROPAGATION_MS } from './imds-lag.js';

/** Latencies of ARM as seen from a node, in ms. */
export type ArmLatencies = {
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
  /** One IMDS GET (`/metadata/instance` or its network part). */
  readonly imdsRead: number;
};

export const DEFAULT_ARM_LATENCIES: ArmLatencies = { read: 150, write: 300, operation: 15_000, poll: 1_000, imdsLag: DEFAULT_AZURE_IMDS_PROPAGATION_MS, imdsRead: 5 };

/** ARM calls that change something: the subscription's write bucket pays for these. */
export const ARM_MUTATING_CALLS: ReadonlySet<string> = new Set(['PutNetworkInterface', 'PutScaleSetVm']);

export interface SimulatedArmOptions extends Omit<SimulatedAccountOptions, 'throttling'> {
  readonly latencies?: Partial<ArmLatencies> | undefined;
  /** Enforce ARM's per-subscription write bucket (200 burst, 10 per s), or one of this size. */
  readonly throttling?: boolean | { readonly capacity: number; readonly refillPerSecond: number };
  readonly vnetCidr?: string;
  readonly subnets?: readonly { readonly name: string; readonly cidr: string }[];
  /** NICs per VM (the primary included). Default 1. */
  readonly nicsPerVm?: number;
}

/** A VM of the subscription, as the Azure provider folder takes it. */
export interface ArmMachineHandle {
  readonly backend: ArmBackend;
  readonly vmId: string;
  /** Between two polls of an operation: the provider's pollIntervalMs (ARM sends no Retry-After). */
  readonly pollIntervalMs: number;
}

/** One subscription: the emulated ARM and its call counters (the emulator's names). */
export class SimulatedArmSubscription implements SimulatedAccount {
  readonly backend: ArmBackend;
  readonly latencies: ArmLatencies;
  readonly nicsPerVm: number;
  /** Azure shows a NIC's new configurations on the VM's existing interface: nothing to wait for. */
  readonly interfaceVisibleMs = 0;

  constructor(options: SimulatedArmOptions) {
    const latencies = { ...DEFAULT_ARM_LATENCIES, ...options.latencies };
    this.latencies = latencies;
    this.nicsPerVm = options.nicsPerVm ?? 1;
    const { read, write } = latencies;
    this.backend = new ArmBackend({
      clock: options.clock.now,
      sleep: options.clock.sleep,
      ...(options.vnetCidr === undefined ? {} : { vnetCidr: options.vnetCidr }),
      ...(options.subnets === undefined ? {} : { subnets: options.subnets }),
      operationLatencyMs: latencies.operation,
      latencyMs: {
        GetVirtualMachine: read,
        GetScaleSetVm: read,
        GetNetworkInterface: read,
        GetScaleSetVmNetworkInterface: read,
        GetVirtualNetwork: read,
        GetOperation: read,
        PutNetworkInterface: write,
        PutScaleSetVm: write,
      },
      imdsPropagationMs: latencies.imdsLag,
      imdsLatencyMs: latencies.imdsRead,
      throttling: options.throttling ?? false,
      seed: 7,
    });
  }

  get state(): ArmBackend['state'] {
    return this.backend.state;
  }

  /** ARM requests by operation, refused ones included. */
  get calls(): Map<string, number> {
    return this.backend.calls;
  }

  /** Requests ARM answered 429, by operation. */
  get throttled(): Map<string, number> {
    return this.backend.throttled;
  }

  totalCalls(filter: (operation: string) => boolean = () => true): number {
    return this.backend.totalCalls(filter);
  }

  mutatingCalls(): number {
    return this.totalCalls((operation) => ARM_MUTATING_CALLS.has(operation));
  }

  /** A running VM of `vmSize` with its NICs. */
  launch(vmSize: string): SimulatedMachine {
    return this.machine(this.backend.createVm({ vmSize, nics: this.nicsPerVm }));
  }

  /** The machine of a VM already in the subscription. */
  machine(vmId: string): SimulatedMachine {
    const handle: ArmMachineHandle = { backend: this.backend, vmId, pollIntervalMs: this.latencies.poll };
    return { cloud: 'azure', id: vmId, handle };
  }
}

export const armSimulation: EmulatorSimulation = {
  defaultLatencies: DEFAULT_ARM_LATENCIES,
  defaultMachineType: 'Standard_D4s_v5',
  corpusMachineTypes: ['Standard_D2s_v5', 'Standard_D4s_v5', 'Standard_D8s_v5'],
  // nativeip adds no NIC on Azure: every address is an IP configuration of the VM's own NICs.
  mutatingCallsPerInterface: 0,
  start: (options) => new SimulatedArmSubscription(options),
};
