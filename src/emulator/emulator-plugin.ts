/**
 * What the `nativeip` command, the simulators and the crash campaign know of a cloud's emulator,
 * all of it from the cloud's own folder (`src/emulator/<cloud>/plugin.ts`): its name, its usage
 * line, how to run it from the command line, its demo, its in-process account and its emulated
 * cluster. Callers iterate the registry (src/emulator/clouds.ts) and name no cloud. A plugin
 * module is light: running the emulator, the demo or a cluster imports them then.
 */
import type { SimulatedAccount, SimulatedAccountOptions } from '../core/simulation.js';
import type { ClusterOptions, Closable, EmulatedCluster } from '../demo/emulated-cluster.js';
import type { VpcHost } from './fabric/index.js';

/** A cloud's emulator as the simulators use it: in-process, on simulated time. */
export interface EmulatorSimulation {
  /** The account's latencies in ms by name. */
  readonly defaultLatencies: Readonly<Record<string, number>>;
  /** A machine type to simulate when none is given (a common node size). */
  readonly defaultMachineType: string;
  /** Machine types the trace corpus draws from, small to large (src/sim/corpus). */
  readonly corpusMachineTypes: readonly string[];
  /** Mutating calls that add one interface with its addresses (the lower bound of src/sim/corpus/lower-bound.ts). */
  readonly mutatingCallsPerInterface: number;
  start(options: SimulatedAccountOptions): SimulatedAccount;
}

/** A started cluster's fabric as cloud-neutral callers reach it. */
export interface ClusterFabric extends Closable {
  /** Another machine in the cloud network, reachable from every node and pod (every cloud's fabric has one). */
  readonly vpcHost: VpcHost;
}

/** A cloud's emulated cluster as cloud-neutral callers hold it: nodes, daemons, the cloud under test, the fabric. */
export type LaunchedCluster = EmulatedCluster<Closable, ClusterFabric>;

/** What starting a cloud's emulated cluster takes, whatever the cloud. */
export interface LaunchOptions extends ClusterOptions {
  /** Every node's machine type (an EC2 instance type, an Azure VM size). Default {@link ClusterLauncher.defaultMachineType}. */
  readonly machineType?: string;
}

/**
 * How a cloud's emulated cluster is started for tests, benchmarks and the crash campaign: the
 * emulator, the network-namespace fabric and a real nativeip-ipamd per node (the cloud's
 * `cluster.ts` recipe on src/demo/emulated-cluster.ts).
 */
export interface ClusterLauncher {
  /** The machine type of every node when none is given: `t3.medium`. */
  readonly defaultMachineType: string;
  /** The default node for people, as the crash campaign titles its report rows: `AWS (t3.medium)`. */
  readonly nodeTitle: string;
  /**
   * Imports the cloud's cluster recipe, removes namespaces an earlier run with `options.prefix`
   * left, and starts the emulator, the fabric, the nodes and their daemons; resolves once every
   * daemon answers. Needs root. Throws when any part fails to start (closing the emulator and the
   * fabric first); `close()` the cluster when done.
   */
  start(options: LaunchOptions): Promise<LaunchedCluster>;
}

export interface EmulatorPlugin {
  /** `nativeip emulator <name>`, `nativeip demo --cloud <name>`: `aws`, `azure`. */
  readonly name: string;
  /** The arguments of `nativeip emulator <name>`, for the usage text. */
  readonly usage: string;
  /** What the demo shows, for the usage text: `an emulated AWS VPC`. */
  readonly demoScene: string;
  /** Runs the emulator in the foreground until SIGINT/SIGTERM. Throws on bad arguments. */
  runCli(args: string[]): Promise<void>;
  /** Runs the demo (root); resolves with the exit status: 0 only if every check passed. */
  runDemo(args: readonly string[]): Promise<number>;
  /** Loads the in-process account the simulators run on (src/core/simulation.ts). Optional. */
  simulation?(): Promise<EmulatorSimulation>;
  /** Starts an emulated cluster of this cloud. Optional: a cloud without it is not crash-tested by bench/crash-campaign.ts. */
  readonly cluster?: ClusterLauncher;
}
