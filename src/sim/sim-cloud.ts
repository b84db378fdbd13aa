/**
 * The simulated cloud a run's nodes share, whichever it is: the cloud's emulator runs one account
 * in-process (EmulatorPlugin.simulation) and each node runs the cloud's real provider on its machine
 * (CloudPlugin.simulation), both found in the registries by the cloud's name. Names no cloud.
 */
import type { CloudPlugin } from '../core/cloud-plugin.js';
import { seededRandom } from '../core/seeded-random.js';
import type { SimClock, SimulatedAccount } from '../core/simulation.js';
import type { CloudProvider } from '../core/types.js';
import type { DaemonConfig } from '../ipamd/config/config.js';
import { CLOUD_PLUGINS } from '../ipamd/clouds.js';
import { EMULATOR_PLUGINS } from '../emulator/clouds.js';
import type { EmulatorSimulation } from '../emulator/emulator-plugin.js';
import { simNode } from './sim-node.js';

export interface SimCloud {
  /** The cloud's name. */
  readonly cloud: string;
  readonly account: SimulatedAccount;
  /** Calls by action (the cloud's action names). */
  readonly calls: Map<string, number>;
  /** Calls the cloud refused for throttling, by action. */
  readonly throttled: Map<string, number>;
  /** Launches a machine of `machineType` and returns its provider, built from the daemon's config. */
  addNode(machineType: string): CloudProvider;
  /** Calls that change something. */
  mutatingCalls(): number;
  /** Times a node read itself from instance metadata instead of the cloud's API. */
  metadataReads(): number;
  /** After a new interface is attached, until the node sees its link (the datapath waits that long). */
  readonly interfaceVisibleMs: number;
}

export interface SimCloudOptions {
  /** The cloud's name (a registered cloud whose provider and emulator both simulate). */
  readonly cloud: string;
  readonly clock: SimClock;
  readonly throttling: boolean;
  /** Latencies by the cloud's names; the rest keep its defaults. */
  readonly latencies?: Readonly<Record<string, number>> | undefined;
  /** The daemon's config: the cloud's settings and MAX_ENI, as the daemon would build its provider. */
  readonly config: DaemonConfig;
  /** Nodes reconcile from instance metadata and describe only on a mismatch (default); false: describe every time. */
  readonly observeNodes?: boolean | undefined;
}

/** The clouds that can be simulated: both halves registered. */
export function simulatedClouds(): string[] {
  return CLOUD_PLUGINS.filter((p) => p.simulation !== undefined && EMULATOR_PLUGINS.some((e) => e.name === p.name && e.simulation !== undefined)).map((p) => p.name);
}

/** The emulator half of a cloud's simulation (its default latencies and machine type, its account). */
export async function emulatorSimulation(cloud: string): Promise<EmulatorSimulation> {
  const emulator = EMULATOR_PLUGINS.find((e) => e.name === cloud);
  if (emulator?.simulation === undefined) throw new Error(`cloud ${cloud} cannot be simulated (simulated: ${simulatedClouds().join(', ')})`);
  return emulator.simulation();
}

export async function createSimCloud(options: SimCloudOptions): Promise<SimCloud> {
  const plugin: CloudPlugin | undefined = CLOUD_PLUGINS.find((p) => p.name === options.cloud);
  if (plugin?.simulation === undefined) throw new Error(`cloud ${options.cloud} cannot be simulated (simulated: ${simulatedClouds().join(', ')})`);
  const [emulator, providerOn] = await Promise.all([emulatorSimulation(options.cloud), plugin.simulation()]);
  const account = emulator.start({ clock: options.clock, throttling: options.throttling, latencies: options.latencies });
  const settings = options.config.cloudSettings[plugin.name];
  // The clients' retry jitter: one seeded sequence per run, shared by every node.
  const random = seededRandom(99);
  let metadataReads = 0;
  return {
    cloud: plugin.name,
    account,
    calls: account.calls,
    throttled: account.throttled,
    addNode: (machineType) => {
      const provider = providerOn(account.launch(machineType), settings, { clock: options.clock, random, maxInterfaces: options.config.maxEni });
      const node = simNode(provider, () => (metadataReads += 1));
      return options.observeNodes === false ? node.describeOnly() : node;
    },
    mutatingCalls: () => account.mutatingCalls(),
    metadataReads: () => metadataReads,
    interfaceVisibleMs: account.interfaceVisibleMs,
  };
}
