/**
 * One simulated Azure subscription: the emulated ARM in-process on the virtual clock
 * (src/emulator/azure/arm-backend.ts: the emulator's state model with long-running NIC PUTs,
 * ETags and another operation in flight, the subscription's write bucket, latencies, a lagging IMDS
 * per VM), and per node the real Azure provider (AzureProvider) bound to it through arm-client.ts.
 * Nothing of the provider is re-implemented: batching, per-NIC serialisation, ETag retries, the
 * operation journal, write pacing and discovery are the daemon's own code.
 */
import { ArmBackend } from '../../src/emulator/azure/arm-backend.js';
import { DEFAULT_AZURE_IMDS_PROPAGATION_MS } from '../../src/emulator/azure/imds-lag.js';
import { AzureProvider } from '../../src/providers/azure/azure-provider.js';
import { DEFAULT_AZURE_BATCH_SIZE } from '../../src/providers/azure/ip-configs.js';
import { EmulatedArmClient, EmulatedAzureImds } from './arm-client.js';
import { simNode, type SimNode } from './sim-node.js';
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
  /** One IMDS GET (`/metadata/instance` or its network part). */
  readonly imdsRead: number;
}

export const DEFAULT_ARM_LATENCIES: ArmLatencies = { read: 150, write: 300, operation: 15_000, poll: 1_000, imdsLag: DEFAULT_AZURE_IMDS_PROPAGATION_MS, imdsRead: 5 };

/** ARM calls that change something: the subscription's write bucket pays for these. */
export const ARM_MUTATING_CALLS: ReadonlySet<string> = new Set(['PutNetworkInterface', 'PutScaleSetVm']);

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

/** One subscription: the emulated ARM, its call counters (the emulator's names), and its nodes' providers. */
export class SimSubscription {
  readonly backend: ArmBackend;
  readonly clock: VirtualClock;
  readonly latencies: ArmLatencies;
  readonly batchSize: number;
  readonly nicsPerVm: number;
  /** Node observations from IMDS (observeNode calls; not ARM calls). */
  imdsReads = 0;

  constructor(options: SimSubscriptionOptions) {
    this.clock = options.clock;
    const latencies = { ...DEFAULT_ARM_LATENCIES, ...options.latencies };
    this.latencies = latencies;
    this.batchSize = options.batchSize ?? DEFAULT_AZURE_BATCH_SIZE;
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

  /** A running VM with its NICs; returns its resource id. */
  launch(vmSize: string): string {
    return this.backend.createVm({ vmSize, nics: this.nicsPerVm });
  }

  /** The real Azure provider of the VM's daemon, on this subscription and the virtual clock. */
  provider(vmId: string): SimNode {
    const { clock, latencies } = this;
    const azure = new AzureProvider({
      armApi: new EmulatedArmClient({ backend: this.backend, sleep: clock.sleep, clock: clock.now, pollIntervalMs: latencies.poll }),
      imdsApi: new EmulatedAzureImds(this.backend, vmId),
      batchSize: this.batchSize,
      pollIntervalMs: latencies.poll,
      sleep: clock.sleep,
      clock: clock.now,
    });
    return simNode(azure, () => (this.imdsReads += 1));
  }
}
