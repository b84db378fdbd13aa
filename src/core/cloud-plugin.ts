/**
 * What the daemon knows of a cloud, all of it from the cloud's own folder
 * (`src/providers/<cloud>/plugin.ts`): its name, how to tell the node runs in it, its environment
 * variables, its defaults, the settings it refuses, and how to build its provider. The daemon,
 * the config loader and the CLI iterate the registry (src/ipamd/clouds.ts) and name no cloud.
 *
 * A plugin module is light: building the provider imports the cloud's SDK lazily, so a node never
 * loads another cloud's SDK (tens of MiB of resident memory each).
 */
import type { ConfigIssue, Env, SpecTable } from './config/config-variable.js';
import type { SimulatedProviderFactory } from './simulation.js';
import type { CloudProvider, InterfaceLimits } from './types.js';

/** What one metadata probe found: `ok`, or why not (for the error message). */
export type ProbeResult = { readonly ok: true } | { readonly ok: false; readonly why: string };

/** The cloud-neutral settings a cloud may refuse (see {@link CloudPlugin.poolSettingIssues}). */
export interface PoolSettingsView {
  readonly warmEniTarget: number | undefined;
  readonly prefixDelegation: boolean;
}

/** What building a provider needs besides the cloud's own settings. */
export interface ProviderContext {
  /** The process environment (some SDKs read their own variables). */
  readonly env: Env;
  /** The daemon's logger, for the provider's child logger. */
  readonly logger: PluginLogger;
  /** `MAX_ENI`: most interfaces to attach, primary included; undefined: the instance type's limit. */
  readonly maxInterfaces: number | undefined;
  /** Told of every request the provider sends to its cloud's API (metrics). */
  readonly apiObserver?: CloudApiObserver;
}

/**
 * Told of each request sent to a cloud's API as it ends, each SDK attempt on its own: the API
 * action as the cloud names it, how long it took, and whether it succeeded, failed or was throttled.
 */
export type CloudApiObserver = (api: string, durationMs: number, result: 'ok' | 'error' | 'throttled') => void;

/** The subset of a pino logger a plugin uses. */
export interface PluginLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
  child(bindings: Record<string, unknown>): PluginLogger;
}

export interface CloudPlugin<Settings = unknown> {
  /** `NATIVEIP_CLOUD` value and CloudProvider.name: `aws`, `azure`. */
  readonly name: string;
  /** For people: `AWS`, `Azure`. */
  readonly title: string;
  /**
   * Words besides `name` that betray this cloud in code outside its two folders: its APIs' names
   * (`ec2`), looked for in identifiers and in text a user reads by test/unit/cloud-neutral.test.ts.
   * May be empty. (Not `eni`: WARM_ENI_TARGET and MAX_ENI are the AWS VPC CNI's knob names, which
   * nativeip keeps on every cloud.)
   */
  readonly codeWords: readonly string[];
  /**
   * Words that betray this cloud only in text a user reads, too common inside identifiers to look
   * for there (`arm`, which also arms a timer). May be empty.
   */
  readonly textWords: readonly string[];
  /** Its environment variables: read and checked with the daemon's, documented in the same table. */
  readonly settings: SpecTable<Settings>;
  /** MTU of interfaces and pods when `AWS_VPC_ENI_MTU` is unset. */
  readonly defaultMtu: number;
  /**
   * Whether the node itself SNATs pod traffic leaving the network to its primary address (unless
   * `AWS_VPC_K8S_CNI_EXTERNALSNAT`): true where the cloud sends only the instance's primary address
   * out (EC2 without a NAT gateway); false where the platform translates (Azure's outbound rules).
   */
  readonly snatsEgress: boolean;
  /**
   * Whether this cloud's metadata service answers here (`NATIVEIP_CLOUD=auto`); never throws.
   * Every plugin is asked at once, each within `timeoutMs`.
   */
  probe(settings: Settings, timeoutMs: number): Promise<ProbeResult>;
  /** Settings that mean nothing on this cloud, refused rather than silently reinterpreted. Pure. */
  poolSettingIssues(pool: PoolSettingsView): ConfigIssue[];
  /**
   * Sets process environment variables the cloud's SDK reads (and nothing else does) from the
   * settings, where they are unset. Optional.
   */
  prepareEnvironment?(settings: Settings, env: Record<string, string | undefined>): void;
  /**
   * The cloud's built-in table of machine types: interfaces, addresses per interface and vCPUs of
   * `machineType`, or undefined when it is not in the table. `nativeip max-pods` reads it. Optional.
   */
  instanceLimits?(machineType: string): InterfaceLimits | undefined;
  /**
   * One phrase naming that table, for messages: `the table of 1391 types (FILE, from SOURCE VERSION)`.
   * Optional.
   */
  instanceLimitsTable?(): string;
  /**
   * Loads what runs the cloud's real provider on a machine of its emulator's in-process account
   * (src/core/simulation.ts), for the simulators. Optional: a cloud without it is not simulated.
   */
  simulation?(): Promise<SimulatedProviderFactory<Settings>>;
  /**
   * Another IPAM agent of this cloud running on the node (AWS: aws-node's ipamd), said for a log
   * line, or undefined when none is seen. The daemon waits before serving while one runs: two
   * agents would hand out the same addresses. Absent: the cloud has no such agent to look for.
   */
  otherAgentOnNode?(settings: Settings): Promise<string | undefined>;
  /** Builds the provider (importing the cloud's SDK). Throws on settings it cannot use (a file it cannot read). */
  createProvider(settings: Settings, context: ProviderContext): Promise<CloudProvider>;
}
