/**
 * What the `nativeip` command knows of a cloud's emulator, all of it from the cloud's own folder
 * (`src/emulator/<cloud>/plugin.ts`): its name, its usage line, how to run it from the command
 * line, and its demo. The CLI iterates the registry (src/emulator/clouds.ts) and names no cloud.
 * A plugin module is light: running the emulator or the demo imports them then.
 */
import type { SimulatedAccount, SimulatedAccountOptions } from '../core/simulation.js';

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
}
