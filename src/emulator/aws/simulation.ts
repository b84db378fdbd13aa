/**
 * One AWS account for the simulators (src/core/simulation.ts): the emulated EC2 in-process on
 * simulated time (ec2-backend.ts: the emulator's state model, per-account throttling buckets,
 * latencies, a lagging IMDS per instance). The AWS provider folder runs the real Ec2Provider on
 * its machines (src/providers/aws/simulated-provider.ts); this folder knows no provider.
 */
import type { SimulatedAccount, SimulatedAccountOptions, SimulatedMachine } from '../../core/simulation.js';
import type { EmulatorSimulation } from '../emulator-plugin.js';
import { Ec2Backend } from './ec2-backend.js';

/** Latencies of EC2 as seen from a node, in ms (a request's round trip plus EC2's own work). */
export type Ec2Latencies = {
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
};

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

export interface SimulatedEc2Options extends SimulatedAccountOptions {
  readonly latencies?: Partial<Ec2Latencies> | undefined;
  readonly subnets?: readonly { cidr: string }[];
  readonly vpcCidr?: string;
}

/** A machine of the account, as the AWS provider folder takes it. */
export interface Ec2MachineHandle {
  readonly backend: Ec2Backend;
  readonly instanceId: string;
}

/** One AWS account and region: the emulated EC2 and its call counters. */
export class SimulatedEc2Account implements SimulatedAccount {
  readonly backend: Ec2Backend;
  readonly latencies: Ec2Latencies;

  constructor(options: SimulatedEc2Options) {
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
      throttling: options.throttling,
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

  get interfaceVisibleMs(): number {
    return this.latencies.attachVisible;
  }

  totalCalls(filter: (action: string) => boolean = () => true): number {
    return this.backend.totalCalls(filter);
  }

  mutatingCalls(): number {
    return this.totalCalls((action) => MUTATING_ACTIONS.has(action));
  }

  /** Launches an instance of `instanceType`. */
  launch(instanceType: string): SimulatedMachine {
    const { instanceId } = this.backend.launchInstance(instanceType);
    return this.machine(instanceId);
  }

  /** The machine of an instance already running in the account. */
  machine(instanceId: string): SimulatedMachine {
    const handle: Ec2MachineHandle = { backend: this.backend, instanceId };
    return { cloud: 'aws', id: instanceId, handle };
  }
}

export const ec2Simulation: EmulatorSimulation = {
  defaultLatencies: DEFAULT_LATENCIES,
  defaultMachineType: 'm5.xlarge',
  corpusMachineTypes: ['t3.medium', 'm5.large', 'm5.xlarge', 'm5.2xlarge', 'm5.4xlarge'],
  // CreateNetworkInterface (with its secondary addresses), AttachNetworkInterface, and
  // ModifyNetworkInterfaceAttribute for DeleteOnTermination.
  mutatingCallsPerInterface: 3,
  start: (options) => new SimulatedEc2Account(options),
};
