/**
 * One simulated AWS account: the emulated EC2 account in-process on the virtual clock
 * (src/emulator/aws/ec2-backend.ts: the emulator's state model, per-account throttling buckets,
 * latencies, a lagging IMDS per instance), and per node the real AWS provider (Ec2Provider) bound
 * to it through ec2-client.ts, with the provider's client-side request limiter on the same clock.
 * Nothing of the provider is re-implemented: grows, shrinks, kept ENIs, DeleteOnTermination, the
 * MAX_ENI cap and discovery are the daemon's own code.
 */
import { seededRandom } from '../../src/core/seeded-random.js';
import { Ec2Backend } from '../../src/emulator/aws/ec2-backend.js';
import { Ec2Provider, type Ec2ProviderOptions } from '../../src/providers/aws/ec2-provider.js';
import { Ec2RequestLimiter } from '../../src/providers/aws/ec2-request-limiter.js';
import { EmulatedEc2Client, EmulatedImds } from './ec2-client.js';
import { simNode, type SimNode } from './sim-node.js';
import type { VirtualClock } from './virtual-clock.js';

/** Latencies of EC2 as seen from a node, in ms (a request's round trip plus EC2's own work). */
export interface Ec2Latencies {
  /** Every Describe* (network interfaces, instance types, subnets, instances). */
  readonly describe: number;
  readonly assign: number;
  readonly unassign: number;
  readonly create: number;
  readonly attach: number;
  /** After attach, until the node sees the new interface's link (the datapath waits for it). */
  readonly attachVisible: number;
  readonly modify: number;
  /** DetachNetworkInterface's answer; the ENI stays `detaching` as long again. */
  readonly detach: number;
  readonly delete: number;
  /** After a change, until IMDS shows it (real: ~1–2 s). */
  readonly imdsLag: number;
  /** One IMDS GET; an observation of the node is two rounds of them (the MAC list, then each MAC's keys). */
  readonly imdsRead: number;
}

export const DEFAULT_LATENCIES: Ec2Latencies = {
  describe: 150,
  assign: 300,
  unassign: 300,
  create: 1000,
  attach: 3000,
  attachVisible: 2000,
  modify: 300,
  detach: 2000,
  delete: 500,
  imdsLag: 1500,
  imdsRead: 10,
};

export const MUTATING_ACTIONS: ReadonlySet<string> = new Set([
  'AssignPrivateIpAddresses',
  'UnassignPrivateIpAddresses',
  'CreateNetworkInterface',
  'DeleteNetworkInterface',
  'ModifyNetworkInterfaceAttribute',
  'AttachNetworkInterface',
  'DetachNetworkInterface',
]);

export interface SimAccountOptions {
  readonly clock: VirtualClock;
  readonly latencies?: Partial<Ec2Latencies>;
  /** Enforce EC2's per-account token buckets. */
  readonly throttling?: boolean;
  readonly subnets?: readonly { cidr: string }[];
  readonly vpcCidr?: string;
  /** Provider options every node gets (MAX_ENI, cluster name, …) besides the bindings. */
  readonly provider?: Omit<Ec2ProviderOptions, 'ec2Api' | 'imdsApi' | 'sleep' | 'now'>;
}

/** One AWS account and region: the emulated EC2, its call counters, and its nodes' providers. */
export class SimAccount {
  readonly backend: Ec2Backend;
  readonly clock: VirtualClock;
  readonly latencies: Ec2Latencies;
  /** Node observations from IMDS (observeNode calls; each a dozen GETs, none an EC2 call). */
  imdsReads = 0;
  readonly #options: SimAccountOptions;
  /** The SDK retries' jitter, shared by every node: one seeded sequence per run. */
  readonly #random = seededRandom(99);

  constructor(options: SimAccountOptions) {
    this.#options = options;
    this.clock = options.clock;
    const latencies = { ...DEFAULT_LATENCIES, ...options.latencies };
    this.latencies = latencies;
    const describe = latencies.describe;
    this.backend = new Ec2Backend({
      clock: options.clock.now,
      sleep: options.clock.sleep,
      vpcCidr: options.vpcCidr ?? '10.0.0.0/16',
      subnets: options.subnets ?? [{ cidr: '10.0.0.0/16' }],
      latencyMs: {
        DescribeNetworkInterfaces: describe,
        DescribeInstanceTypes: describe,
        DescribeSubnets: describe,
        DescribeInstances: describe,
        AssignPrivateIpAddresses: latencies.assign,
        UnassignPrivateIpAddresses: latencies.unassign,
        CreateNetworkInterface: latencies.create,
        AttachNetworkInterface: latencies.attach,
        ModifyNetworkInterfaceAttribute: latencies.modify,
        DetachNetworkInterface: latencies.detach,
        DeleteNetworkInterface: latencies.delete,
      },
      detachDelayMs: latencies.detach,
      imdsPropagationMs: latencies.imdsLag,
      imdsLatencyMs: latencies.imdsRead,
      throttling: options.throttling === true,
      seed: 7,
    });
  }

  /** EC2 requests by action, throttled attempts included (each SDK attempt is one). */
  get calls(): Map<string, number> {
    return this.backend.counters.calls;
  }

  /** Requests the account's buckets refused, by action. */
  get throttled(): Map<string, number> {
    return this.backend.counters.throttled;
  }

  totalCalls(filter: (action: string) => boolean = () => true): number {
    return this.backend.totalCalls(filter);
  }

  /** Launches an instance; returns its id. */
  launch(instanceType: string): string {
    return this.backend.launchInstance(instanceType).instanceId;
  }

  /** The real AWS provider of the instance's daemon, on this account and the virtual clock. */
  provider(instanceId: string): SimNode {
    const { clock } = this;
    const ec2 = new Ec2Provider({
      ...this.#options.provider,
      ec2Api: new EmulatedEc2Client({
        backend: this.backend,
        sleep: clock.sleep,
        random: this.#random,
        limiter: new Ec2RequestLimiter({ clock: clock.now, sleep: clock.sleep }),
      }),
      imdsApi: new EmulatedImds(this.backend, instanceId),
      sleep: clock.sleep,
      now: () => new Date(clock.now()),
    });
    return simNode(ec2, () => (this.imdsReads += 1));
  }
}
