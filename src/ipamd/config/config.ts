/**
 * The daemon's configuration: environment variables parsed once into a frozen, typed object.
 * Pure: the caller passes the environment; nothing here reads process.env or touches the disk.
 */

import { readTable, type ConfigIssue, type Env } from '../../core/config/config-variable.js';
import type { CloudPlugin } from '../../core/cloud-plugin.js';
import { CLOUD_PLUGINS } from '../clouds.js';
import { CONFIG_SPECS } from './config-variables.js';
import { findMisspelledVariables } from './config-names.js';
import { judgeVpcCniVariables, type VpcCniJudgement } from './vpc-cni-variables.js';
import type { SnatPortMode } from '../datapath/snat.js';

export type KubernetesChoice = 'auto' | 'on' | 'off';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/**
 * What the daemon reads from its environment, but for each cloud's own variables. Every field is
 * always present; `undefined` means the variable was unset and the behaviour described on the
 * field applies.
 */
export interface CommonConfig {
  /** `WARM_ENI_TARGET`: spare interfaces (with all their addresses) to keep attached. Ignored when an IP target is set. */
  readonly warmEniTarget: number | undefined;
  /** `WARM_IP_TARGET`: free addresses to keep in the pool. Unset: size the pool by interfaces. */
  readonly warmIpTarget: number | undefined;
  /** `MINIMUM_IP_TARGET`: addresses (free + assigned) the pool never shrinks below. */
  readonly minimumIpTarget: number | undefined;
  /** `MAX_ENI`: most interfaces to attach, primary included. Unset: the instance type's limit. */
  readonly maxEni: number | undefined;
  /** `ENABLE_PREFIX_DELEGATION`: grow the pool with /28 prefixes instead of single addresses. */
  readonly prefixDelegation: boolean;
  /** `WARM_PREFIX_TARGET`: free prefixes to keep, in prefix mode when no IP target is set. */
  readonly warmPrefixTarget: number;
  /** `IP_COOLDOWN_PERIOD`: how long a released address rests before it is handed out again. */
  readonly ipCooldownMs: number;
  /** `AWS_VPC_ENI_MTU`: MTU of secondary interfaces and pod interfaces. */
  readonly mtu: number;
  /** `AWS_VPC_K8S_CNI_VETHPREFIX`: prefix of host-side veth names. */
  readonly vethPrefix: string;
  /** `AWS_VPC_K8S_CNI_EXTERNALSNAT`: true when something outside the node SNATs egress; no SNAT rule is installed. */
  readonly externalSnat: boolean;
  /** `AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS`: destinations outside the VPC that keep the pod's address (no SNAT). */
  readonly excludeSnatCidrs: readonly string[];
  /** `AWS_VPC_K8S_CNI_RANDOMIZESNAT`: source port choice of the SNAT rule. */
  readonly randomizeSnat: SnatPortMode;
  /** `AWS_VPC_CNI_NODE_PORT_SUPPORT`: mark connections arriving on the primary interface so pods' replies leave by it. */
  readonly nodePortSupport: boolean;
  /** `AWS_VPC_K8S_CNI_CONNMARK`: the mark (bits) of {@link nodePortSupport}. */
  readonly connmark: number;
  /** `NATIVEIP_CLOUD`: which cloud's provider to use (a plugin's name); `auto` probes the metadata services. */
  readonly cloud: string;
  /** `NATIVEIP_SOCKET`: Unix socket the CNI plugin connects to. */
  readonly socketPath: string;
  /** `NATIVEIP_CHECKPOINT`: file holding allocations across daemon restarts. */
  readonly checkpointPath: string;
  /** `NATIVEIP_LOCK_WAIT`: how long to wait for another daemon holding the node's lock to stop. */
  readonly lockWaitMs: number;
  readonly logLevel: LogLevel;
  /** `NATIVEIP_LOG_FILE`: absolute path, or `stderr`. */
  readonly logFile: string;
  /** `NATIVEIP_HOST_NETNS`: network namespace to treat as the host (test fabric, demo). Unset: our own. */
  readonly hostNetnsPath: string | undefined;
  /** `NATIVEIP_RECONCILE_INTERVAL`: period of the reconcile against the cloud. */
  readonly reconcileIntervalMs: number;
  /** `NATIVEIP_ATTACH_TIMEOUT`: how long to wait for an attached interface to appear as a link. */
  readonly attachTimeoutMs: number;
  /** `DISABLE_LEAKED_ENI_CLEANUP`: true stops the periodic deletion of leaked interfaces. */
  readonly disableLeakedEniCleanup: boolean;
  /** `NATIVEIP_ENI_GC_INTERVAL`: period (±20 % jitter) of the leaked-interface collection. */
  readonly eniGcIntervalMs: number;
  /** `NATIVEIP_KUBERNETES`: talk to the API server; `auto` when the pod's service-account files exist. */
  readonly kubernetes: KubernetesChoice;
  /** `KUBECONFIG`: kubeconfig to use instead of the in-cluster service account. */
  readonly kubeconfig: string | undefined;
  /** `MY_NODE_NAME`: this node's Node name. Unset: the host name, as kubelet defaults. */
  readonly nodeName: string | undefined;
  /** `NATIVEIP_TAINT_EXHAUSTED_NODES`: taint the Node NoSchedule while it cannot give addresses. */
  readonly taintExhaustedNodes: boolean;
  /** `NATIVEIP_CNI_CONF_DIR`: where to write the CNI conflist once the daemon can serve. Unset: nowhere. */
  readonly cniConfDir: string | undefined;
  /** `NATIVEIP_HEALTH_ADDRESS`: where /healthz and /readyz are served. Unset (`off`): not served. */
  readonly healthAddress: { readonly host: string; readonly port: number } | undefined;
  /** `NATIVEIP_METRICS_ADDRESS`: where Prometheus metrics are served. Unset (`off`): not served. */
  readonly metricsAddress: { readonly host: string; readonly port: number } | undefined;
  /** `DISABLE_METRICS`: true serves no metrics, whatever the address. */
  readonly disableMetrics: boolean;
  /** `INTROSPECTION_BIND_ADDRESS`: where the JSON introspection API is served. Unset (`off`): not served. */
  readonly introspectionAddress: { readonly host: string; readonly port: number } | undefined;
  /** `DISABLE_INTROSPECTION`: true serves no introspection, whatever the address. */
  readonly disableIntrospection: boolean;
}

/** Everything the daemon reads from its environment. */
export interface DaemonConfig extends CommonConfig {
  /**
   * Each registered cloud's settings (its plugin's variables), by cloud name: all are read and
   * checked, whichever cloud the node turns out to be in. See CloudPlugin.settings.
   */
  readonly cloudSettings: Readonly<Record<string, unknown>>;
}

/**
 * True when none of the AWS VPC CNI warm-pool knobs is set: the pool follows the node's recent
 * pod churn (src/ipamd/pool/plan/adaptive-target.ts) instead of a fixed target.
 */
export function usesAdaptiveDefault(config: CommonConfig): boolean {
  return config.warmEniTarget === undefined && config.warmIpTarget === undefined && config.minimumIpTarget === undefined && !config.prefixDelegation;
}

export type { ConfigIssue } from '../../core/config/config-variable.js';

/** Thrown by {@link loadDaemonConfig}; lists every problem found, not only the first. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'InvalidConfig';
  readonly retryable = false;
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(`invalid daemon configuration (${count}):\n${issues.map((i) => `  ${i.message}`).join('\n')}`);
    this.issues = Object.freeze([...issues]);
  }
}


/** One reading of the daemon's environment: the config, and what its AWS VPC CNI settings mean. */
export interface DaemonEnvironment {
  readonly config: DaemonConfig;
  /**
   * The AWS VPC CNI settings in the environment, judged once (vpc-cni-variables.ts): `refused` is
   * empty (refusals are issues of the ConfigError); `ignored` for a warning each, `matching` for an info line.
   */
  readonly vpcCni: VpcCniJudgement;
}

/**
 * Parses the daemon's variables from `env` (pass `process.env`). Empty values count as unset.
 * Returns a frozen config, or throws one {@link ConfigError} listing every invalid value, every
 * unknown `NATIVEIP_*` variable, every likely misspelling of a supported AWS VPC CNI variable,
 * every contradictory combination, and every AWS VPC CNI setting that turns on a feature nativeip
 * does not implement (vpc-cni-variables.ts: custom networking, IPv6, security groups for pods, …).
 */
export function loadDaemonConfig(env: Env): DaemonConfig {
  return readDaemonEnvironment(env).config;
}

/** {@link loadDaemonConfig}, with the judgement of the AWS VPC CNI settings it made; throws the same ConfigError. */
export function readDaemonEnvironment(env: Env): DaemonEnvironment {
  const common = readTable(CONFIG_SPECS, env);
  const issues: ConfigIssue[] = [...common.issues];
  const cloudSettings: Record<string, unknown> = {};
  for (const plugin of CLOUD_PLUGINS) {
    const read = readTable(plugin.settings, env);
    issues.push(...read.issues);
    cloudSettings[plugin.name] = Object.freeze(read.value);
  }
  const config: DaemonConfig = { ...common.value, cloudSettings: Object.freeze(cloudSettings) };
  issues.push(...checkCombinations(config, common.failed, env));
  const vpcCni = judgeVpcCniVariables(env);
  issues.push(...vpcCni.refused);
  issues.push(...findMisspelledVariables(env));
  if (issues.length > 0) throw new ConfigError(issues);
  return { config: Object.freeze(config), vpcCni };
}

/**
 * The config with the chosen cloud's defaults where the operator set nothing: the MTU
 * (`AWS_VPC_ENI_MTU` unset or empty). Frozen.
 */
export function withCloudDefaults(config: DaemonConfig, cloud: CloudPlugin, env: Env): DaemonConfig {
  if (nonEmpty(env[CONFIG_SPECS.mtu.env])) return config;
  return Object.freeze({ ...config, mtu: cloud.defaultMtu });
}

/**
 * Checks that need several variables; a variable that failed on its own is not judged again here.
 *
 * No warm target: WARM_ENI_TARGET=0 with an IP target set and every IP target 0 (or unset).
 * In the AWS VPC CNI, 0 and unset are the same for WARM_IP_TARGET and MINIMUM_IP_TARGET, so
 * there these values select ENI mode: fill the attached ENIs and attach another only when the
 * pool is empty. Here an explicit 0 is a value and selects IP mode, where zero targets leave no
 * headroom at all: the pool grows only for a pod that is already waiting, so every pod start
 * waits for a cloud call. Copied AWS settings would silently mean something slower, so the
 * combination is refused. WARM_ENI_TARGET=0 with both IP targets unset is accepted: that is ENI
 * mode, and behaves as in the AWS VPC CNI.
 */
function checkCombinations(
  config: CommonConfig,
  failed: ReadonlySet<keyof CommonConfig>,
  env: Env,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const usable = (...fields: (keyof CommonConfig)[]): boolean => fields.every((f) => !failed.has(f));
  const shown = (name: string): string => (nonEmpty(env[name]) ? `=${env[name]}` : ' unset');

  if (
    usable('warmEniTarget', 'warmIpTarget', 'minimumIpTarget') &&
    config.warmEniTarget === 0 &&
    (config.warmIpTarget !== undefined || config.minimumIpTarget !== undefined) &&
    (config.warmIpTarget ?? 0) === 0 &&
    (config.minimumIpTarget ?? 0) === 0
  ) {
    issues.push({
      env: 'WARM_ENI_TARGET',
      message:
        `WARM_ENI_TARGET=0 with WARM_IP_TARGET${shown('WARM_IP_TARGET')} and ` +
        `MINIMUM_IP_TARGET${shown('MINIMUM_IP_TARGET')}: no warm target: the pool would grow only ` +
        'once a pod is already waiting, so every pod start would wait for a cloud call ' +
        '(the AWS VPC CNI reads 0 here as unset); set WARM_IP_TARGET or MINIMUM_IP_TARGET to 1 or ' +
        'more, or leave both unset to keep whole interfaces filled',
    });
  }

  issues.push(...checkPrefixTargets(config, usable));

  const paths: [string, keyof CommonConfig, string][] = [
    ['NATIVEIP_SOCKET', 'socketPath', config.socketPath],
    ['NATIVEIP_CHECKPOINT', 'checkpointPath', config.checkpointPath],
    ['NATIVEIP_LOG_FILE', 'logFile', config.logFile],
  ];
  for (let i = 0; i < paths.length; i++) {
    for (let j = i + 1; j < paths.length; j++) {
      const [nameA, fieldA, pathA] = paths[i]!;
      const [nameB, fieldB, pathB] = paths[j]!;
      if (usable(fieldA, fieldB) && pathA === pathB) {
        issues.push({
          env: nameA,
          message: `${nameA} and ${nameB} are both "${pathA}": each needs its own file`,
        });
      }
    }
  }
  return issues;
}

/**
 * The AWS VPC CNI documents zero warm targets in prefix mode as unsupported (docs/
 * prefix-and-ip-target.md): every pod start would wait for EC2. Refused here rather than slow.
 */
function checkPrefixTargets(config: CommonConfig, usable: (...fields: (keyof CommonConfig)[]) => boolean): ConfigIssue[] {
  if (!usable('prefixDelegation', 'warmPrefixTarget', 'warmIpTarget', 'minimumIpTarget') || !config.prefixDelegation) return [];
  const ipMode = config.warmIpTarget !== undefined || config.minimumIpTarget !== undefined;
  if (!ipMode && config.warmPrefixTarget === 0) {
    return [
      {
        env: 'WARM_PREFIX_TARGET',
        message:
          'WARM_PREFIX_TARGET=0 with ENABLE_PREFIX_DELEGATION=true and no IP target: no warm prefix, so every pod ' +
          'start would wait for the cloud (unsupported in the AWS VPC CNI too); set WARM_PREFIX_TARGET to 1 or more, ' +
          'or set WARM_IP_TARGET / MINIMUM_IP_TARGET',
      },
    ];
  }
  if (ipMode && (config.warmIpTarget ?? 0) === 0 && (config.minimumIpTarget ?? 0) === 0) {
    return [
      {
        env: 'WARM_IP_TARGET',
        message:
          'WARM_IP_TARGET and MINIMUM_IP_TARGET are 0 (or unset) with ENABLE_PREFIX_DELEGATION=true: no warm target ' +
          '(unsupported in the AWS VPC CNI too); set one of them to 1 or more, or leave both unset to use WARM_PREFIX_TARGET',
      },
    ];
  }
  return [];
}

function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value !== '';
}

export { CONFIG_VARIABLES, type ConfigVariable } from './config-variables.js';
export type { IgnoredVariable, MatchingVariable, VpcCniJudgement } from './vpc-cni-variables.js';
