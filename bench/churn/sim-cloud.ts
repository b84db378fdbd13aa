/**
 * The simulated cloud a churn run's nodes share: one EC2 account (aws-account.ts: the real AWS
 * provider on the emulated EC2) or one Azure subscription (azure-subscription.ts: the real Azure
 * provider on the emulated ARM), behind the few operations simulate() needs.
 */
import type { CloudProvider } from '../../src/core/types.js';
import { ARM_MUTATING_CALLS, SimSubscription, type ArmLatencies } from './azure-subscription.js';
import { MUTATING_ACTIONS, SimAccount, type Ec2Latencies } from './aws-account.js';
import type { VirtualClock } from './virtual-clock.js';

export type CloudKind = 'aws' | 'azure';

export interface SimCloud {
  readonly kind: CloudKind;
  /** Calls by action (EC2 action, or ARM operation as the Azure emulator names them). */
  readonly calls: Map<string, number>;
  /** Calls the cloud refused for throttling, by action. */
  readonly throttled: Map<string, number>;
  /** Launches an instance of `instanceType` (EC2 type, or Azure VM size) and returns its provider. */
  addNode(instanceType: string): CloudProvider;
  /** Calls that change something (EC2 mutations, ARM writes). */
  mutatingCalls(): number;
  /** Times a node read itself from instance metadata instead of the cloud's API (AWS IMDS). */
  metadataReads(): number;
  /** After a new interface is attached, until the node sees its link (the datapath waits that long). */
  readonly interfaceVisibleMs: number;
}

export interface SimCloudOptions {
  readonly cloud: CloudKind;
  readonly clock: VirtualClock;
  readonly throttling: boolean;
  readonly ec2Latencies?: Partial<Ec2Latencies> | undefined;
  readonly armLatencies?: Partial<ArmLatencies> | undefined;
  /** Azure: most configurations one PUT adds. */
  readonly azureBatchSize?: number | undefined;
  /** Nodes reconcile from IMDS and describe only on a mismatch (default); false: describe every time. */
  readonly observeNodes?: boolean | undefined;
}

export function createSimCloud(options: SimCloudOptions): SimCloud {
  const { clock, throttling } = options;
  if (options.cloud === 'azure') {
    const subscription = new SimSubscription({
      clock,
      throttling,
      ...(options.armLatencies === undefined ? {} : { latencies: options.armLatencies }),
      ...(options.azureBatchSize === undefined ? {} : { batchSize: options.azureBatchSize }),
    });
    return {
      kind: 'azure',
      calls: subscription.calls,
      throttled: subscription.throttled,
      addNode: (vmSize) => {
        const node = subscription.provider(subscription.launch(vmSize));
        return options.observeNodes === false ? node.describeOnly() : node;
      },
      mutatingCalls: () => subscription.totalCalls((op) => ARM_MUTATING_CALLS.has(op)),
      metadataReads: () => subscription.imdsReads,
      interfaceVisibleMs: 0,
    };
  }
  const account = new SimAccount({ clock, throttling, ...(options.ec2Latencies === undefined ? {} : { latencies: options.ec2Latencies }) });
  return {
    kind: 'aws',
    calls: account.calls,
    throttled: account.throttled,
    addNode: (instanceType) => {
      const node = account.provider(account.launch(instanceType));
      return options.observeNodes === false ? node.describeOnly() : node;
    },
    mutatingCalls: () => account.totalCalls((action) => MUTATING_ACTIONS.has(action)),
    metadataReads: () => account.imdsReads,
    interfaceVisibleMs: account.latencies.attachVisible,
  };
}
