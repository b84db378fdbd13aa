/**
 * One emulated cloud account with its nodes' real providers, for the tests that look inside both:
 * the emulator's simulation half (src/emulator/<cloud>/simulation.ts) joined to the provider's
 * (src/providers/<cloud>/simulated-provider.ts) as src/sim/sim-cloud.ts joins them, keeping the
 * account's state in reach for assertions. Tests may name clouds; the simulators do not.
 */
import { seededRandom } from '../../src/core/seeded-random.js';
import { SimulatedEc2Account, type Ec2Latencies } from '../../src/emulator/aws/simulation.js';
import { SimulatedArmSubscription, type ArmLatencies, type SimulatedArmOptions } from '../../src/emulator/azure/simulation.js';
import { DEFAULT_AZURE_BATCH_SIZE } from '../../src/providers/azure/azure-provider.js';
import { simulatedEc2Provider } from '../../src/providers/aws/simulated-provider.js';
import { simulatedAzureProvider } from '../../src/providers/azure/simulated-provider.js';
import { simNode, type SimNode } from '../../src/sim/sim-node.js';
import type { VirtualClock } from '../../src/sim/virtual-clock.js';

export interface SimAccountOptions {
  readonly clock: VirtualClock;
  readonly latencies?: Partial<Ec2Latencies>;
  readonly throttling?: boolean;
  /** MAX_ENI of every node's provider. */
  readonly provider?: { readonly maxEnis?: number };
}

/** One AWS account: the emulated EC2 and its nodes' real Ec2Providers. */
export class SimAccount {
  readonly account: SimulatedEc2Account;
  readonly clock: VirtualClock;
  /** Node observations from IMDS (observeNode calls; none an EC2 call). */
  imdsReads = 0;
  readonly #maxEnis: number | undefined;
  readonly #random = seededRandom(99);

  constructor(options: SimAccountOptions) {
    this.clock = options.clock;
    this.account = new SimulatedEc2Account({ clock: options.clock, throttling: options.throttling === true, latencies: options.latencies });
    this.#maxEnis = options.provider?.maxEnis;
  }

  get backend(): SimulatedEc2Account['backend'] {
    return this.account.backend;
  }

  get calls(): Map<string, number> {
    return this.account.calls;
  }

  /** Launches an instance; returns its id. */
  launch(instanceType: string): string {
    return this.account.launch(instanceType).id;
  }

  /** The real AWS provider of the instance's daemon, on this account and the virtual clock. */
  provider(instanceId: string): SimNode {
    const settings = { clusterName: undefined, ec2Endpoint: undefined, imdsEndpoint: undefined, region: undefined, awsNodeAddress: undefined };
    const provider = simulatedEc2Provider(this.account.machine(instanceId), settings, { clock: this.clock, random: this.#random, maxInterfaces: this.#maxEnis });
    return simNode(provider, () => (this.imdsReads += 1));
  }
}

export interface SimSubscriptionOptions extends Omit<SimulatedArmOptions, 'clock' | 'latencies'> {
  readonly clock: VirtualClock;
  readonly latencies?: Partial<ArmLatencies>;
  /** Most configurations one PUT adds (NATIVEIP_AZURE_BATCH_SIZE). */
  readonly batchSize?: number;
}

/** One Azure subscription: the emulated ARM and its VMs' real AzureProviders. */
export class SimSubscription {
  readonly subscription: SimulatedArmSubscription;
  readonly clock: VirtualClock;
  readonly batchSize: number;
  /** Node observations from IMDS (observeNode calls; not ARM calls). */
  imdsReads = 0;

  constructor(options: SimSubscriptionOptions) {
    this.clock = options.clock;
    this.subscription = new SimulatedArmSubscription(options);
    this.batchSize = options.batchSize ?? DEFAULT_AZURE_BATCH_SIZE;
  }

  get backend(): SimulatedArmSubscription['backend'] {
    return this.subscription.backend;
  }

  get state(): SimulatedArmSubscription['state'] {
    return this.subscription.state;
  }

  get latencies(): ArmLatencies {
    return this.subscription.latencies;
  }

  get calls(): Map<string, number> {
    return this.subscription.calls;
  }

  get throttled(): Map<string, number> {
    return this.subscription.throttled;
  }

  /** A running VM with its NICs; returns its resource id. */
  launch(vmSize: string): string {
    return this.subscription.launch(vmSize).id;
  }

  /** The real Azure provider of the VM's daemon, on this subscription and the virtual clock. */
  provider(vmId: string): SimNode {
    const settings = { armEndpoint: undefined, armCaBundle: undefined, imdsEndpoint: undefined, batchSize: this.batchSize, clientId: undefined };
    const provider = simulatedAzureProvider(this.subscription.machine(vmId), settings, { clock: this.clock, random: seededRandom(99), maxInterfaces: undefined });
    return simNode(provider, () => (this.imdsReads += 1));
  }
}
