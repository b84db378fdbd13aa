/**
 * The simulators' contract with a cloud (src/sim: churn and cluster-scale runs of the real pool
 * engine on simulated time). Each half comes from one of the cloud's two folders: its emulator
 * folder runs an account of the emulated cloud in-process ({@link SimulatedAccount}: the
 * emulator's state model, throttling and latencies on the simulation's clock), and its provider
 * folder runs the cloud's real provider on a machine of that account (CloudPlugin.simulation). The
 * machine passes between them opaque: only the cloud's own folders know its shape. Types only.
 */
import type { CloudProvider } from './types.js';

/** Simulated time: every wait of the account, the providers and the pool engine goes through it. */
export interface SimClock {
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface SimulatedAccountOptions {
  readonly clock: SimClock;
  /** Enforce the cloud's per-account request limits. */
  readonly throttling: boolean;
  /** Latencies in ms by the cloud's own names (its `defaultLatencies`); the rest keep their defaults. */
  readonly latencies?: Readonly<Record<string, number>> | undefined;
}

/** One account (subscription) of an emulated cloud, in-process. */
export interface SimulatedAccount {
  /** The latencies in force, by the cloud's names. */
  readonly latencies: Readonly<Record<string, number>>;
  /** API requests by action, refused ones included (each SDK attempt is one). */
  readonly calls: Map<string, number>;
  /** Requests the cloud refused for throttling, by action. */
  readonly throttled: Map<string, number>;
  /** Requests that change something (the ones the cloud's write limits count). */
  mutatingCalls(): number;
  /** After a new interface is attached, until the node sees its link (the datapath waits that long). */
  readonly interfaceVisibleMs: number;
  /** Launches a machine of `machineType` (instance type, VM size). */
  launch(machineType: string): SimulatedMachine;
}

/** A launched machine: what its cloud's provider needs to run on the account. Opaque elsewhere. */
export interface SimulatedMachine {
  /** The cloud's name: its provider must be that cloud's. */
  readonly cloud: string;
  /** Instance id, VM resource id. */
  readonly id: string;
  readonly handle: unknown;
}

/** What running a provider on a simulated machine needs besides the cloud's settings. */
export interface SimulatedProviderContext {
  readonly clock: SimClock;
  /** Draws in [0, 1) for the client's retry jitter: one seeded sequence per run. */
  readonly random: () => number;
  /** `MAX_ENI`, as ProviderContext.maxInterfaces. */
  readonly maxInterfaces: number | undefined;
}

/** Builds the cloud's real provider on a simulated machine of its own cloud. */
export type SimulatedProviderFactory<Settings = unknown> = (machine: SimulatedMachine, settings: Settings, context: SimulatedProviderContext) => CloudProvider;
