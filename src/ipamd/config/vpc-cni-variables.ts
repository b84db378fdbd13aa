/**
 * Every environment variable of the AWS VPC CNI's DaemonSet (the `aws-node` container and its
 * `aws-vpc-cni-init` init container, v1.19–v1.21), each classified once:
 *
 * - implemented: nativeip reads it with the same meaning (it is in KNOWN_NAMES);
 * - refused: it decides where pod addresses, or the network pods are attached to, come from, and
 *   nativeip does not implement it: set to a value that turns the feature on, the daemon does not
 *   start (a ConfigIssue, exit 2). A value that keeps the feature off is accepted: aws-node's
 *   manifests spell the defaults out (ENABLE_POD_ENI=false, ENABLE_IPv6=false, ENABLE_IPv4=true);
 * - ignored: it has no effect here; at start-up a warning says why it does not matter or what to
 *   use instead, unless its value is one at which aws-node behaves as nativeip does.
 *
 * Pure: data and small functions over an environment passed in.
 */
import { vpcCniBoolean } from '../../core/config/config-parsers.js';
import type { ConfigIssue, Env } from '../../core/config/config-variable.js';

/** A boolean as aws-node parses it (Go's strconv.ParseBool). */
export type BooleanMatch = { readonly bool: boolean };

/** Values in a set, compared without letter case; or a boolean as aws-node parses it. */
export type ValueMatch = BooleanMatch | { readonly values: readonly string[] };

export type VpcCniClass =
  | { readonly kind: 'implemented'; readonly note: string }
  | {
      readonly kind: 'refused';
      /** The values that turn the unsupported feature on. */
      readonly on: ValueMatch;
      /** What the feature does and what would go wrong if nativeip ignored it. */
      readonly why: string;
      /** What to do instead. */
      readonly instead: string;
    }
  | {
      readonly kind: 'ignored';
      /** Values at which aws-node behaves as nativeip does: accepted without a warning. */
      readonly quiet?: ValueMatch | { readonly sameAs: string; readonly sameAsDefault: string };
      /** Why it does not matter, or what to use instead. */
      readonly note: string;
    };

export interface VpcCniVariable {
  readonly name: string;
  readonly class: VpcCniClass;
  /**
   * For refused and ignored ones: `on` is a value refused (or warned about), `off` one accepted
   * quietly (refused ones always have one). The tests walk the table with them. Where the match
   * is a boolean they are derived from it: `on` the value refused (or warned about), `off` the other.
   */
  readonly example?: Example;
}

type Example = { readonly on: string; readonly off?: string };

/** An AWS VPC CNI setting present in the environment that nativeip ignores; for a warning. */
export interface IgnoredVariable {
  readonly env: string;
  readonly value: string;
  /** Why it has no effect, or what to use instead. */
  readonly note: string;
}

/** A setting present at a value where aws-node behaves as nativeip does (a feature kept off). */
export interface MatchingVariable {
  readonly env: string;
  readonly value: string;
}

const TRUE: BooleanMatch = { bool: true };
const FALSE: BooleanMatch = { bool: false };

/** The other boolean: the value that keeps off what `on` turns on. */
const offValue = (on: BooleanMatch): string => String(!on.bool);

const implemented = (name: string, note: string): VpcCniVariable => ({ name, class: { kind: 'implemented', note } });

const refused = (name: string, on: ValueMatch, example: { on: string; off: string }, why: string, instead: string): VpcCniVariable => ({
  name,
  class: { kind: 'refused', on, why, instead },
  example,
});

/** Refused when it is the boolean `on`; the other value keeps the feature off. */
const refusedWhen = (name: string, on: BooleanMatch, why: string, instead: string): VpcCniVariable =>
  refused(name, on, { on: String(on.bool), off: offValue(on) }, why, instead);

const ignored = (
  name: string,
  example: Example,
  note: string,
  quiet?: ValueMatch | { sameAs: string; sameAsDefault: string },
): VpcCniVariable => ({ name, class: quiet === undefined ? { kind: 'ignored', note } : { kind: 'ignored', note, quiet }, example });

/** Warned about, but quiet when it is the boolean `quiet` (the value at which aws-node behaves as nativeip does). */
const ignoredUnless = (name: string, quiet: BooleanMatch, note: string): VpcCniVariable =>
  ignored(name, { on: offValue(quiet), off: String(quiet.bool) }, note, quiet);

const KEEP_VPC_CNI = 'keep the AWS VPC CNI on the nodes that need it (README, Deploying: confine each)';
const PROVISION_ITSELF = 'set it to false or remove it, and give the node the cloud permissions nativeip needs (README, Deploying)';
const ENI_CONFIG_NOTE =
  'only selects a node\'s ENIConfig under custom networking (AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true, which nativeip refuses); the AWS VPC CNI ignores it too while custom networking is off, so it is warned, not refused';
const NO_EGRESS_PLUGIN_NOTE = 'there is no egress plugin (IPv6 clusters and IPv6 egress are refused)';

/** The whole list, in the README's order of topics: what nativeip reads, what it refuses, what it ignores. */
export const VPC_CNI_VARIABLES: readonly VpcCniVariable[] = Object.freeze([
  implemented('WARM_ENI_TARGET', 'same meaning; unset (with the other targets unset) selects the adaptive default instead of 1'),
  implemented('WARM_IP_TARGET', 'same meaning; 0 is a value, not unset, and an invalid value is an error'),
  implemented('MINIMUM_IP_TARGET', 'same meaning'),
  implemented('MAX_ENI', 'same meaning; values below 1 are refused instead of read as unset'),
  implemented('ENABLE_PREFIX_DELEGATION', 'same meaning (IPv4 /28 prefixes)'),
  implemented('WARM_PREFIX_TARGET', 'same meaning; zero warm targets in prefix mode are refused'),
  implemented('IP_COOLDOWN_PERIOD', 'same meaning (seconds)'),
  implemented('AWS_VPC_ENI_MTU', 'MTU of secondary ENIs and of pod interfaces'),
  implemented('AWS_VPC_K8S_CNI_VETHPREFIX', 'same meaning and the same host-side veth names'),
  implemented('AWS_VPC_K8S_CNI_EXTERNALSNAT', 'same meaning'),
  implemented('AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS', 'same meaning; an item that is not an IPv4 CIDR is an error'),
  implemented('AWS_VPC_K8S_CNI_RANDOMIZESNAT', 'same values (none, hashrandom, prng)'),
  implemented('AWS_VPC_CNI_NODE_PORT_SUPPORT', 'same meaning'),
  implemented('AWS_VPC_K8S_CNI_CONNMARK', 'same meaning'),
  implemented('DISABLE_LEAKED_ENI_CLEANUP', 'same meaning'),
  implemented('CLUSTER_NAME', 'tags the ENIs nativeip creates'),
  implemented('MY_NODE_NAME', 'same meaning (set from spec.nodeName)'),
  implemented('DISABLE_METRICS', 'same meaning'),
  implemented('INTROSPECTION_BIND_ADDRESS', 'same default; IPv4:port or off (no unix: sockets)'),
  implemented('DISABLE_INTROSPECTION', 'same meaning'),

  refusedWhen(
    'AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG', TRUE,
    'custom networking puts pod addresses in the subnet and security groups of a node\'s ENIConfig; nativeip does not implement it and takes every pod address from ENIs in the primary ENI\'s subnet with its security groups, so pods would get addresses from the wrong subnet',
    `set it to false or remove it (and ENI_CONFIG_LABEL_DEF / ENI_CONFIG_ANNOTATION_DEF), or ${KEEP_VPC_CNI}`,
  ),
  refusedWhen(
    'ENABLE_POD_ENI', TRUE,
    'security groups for pods gives pods selected by a SecurityGroupPolicy a branch ENI with their own security groups; nativeip does not implement it, so those pods would get an ordinary address behind the node\'s security groups',
    `set it to false or remove it (and POD_SECURITY_GROUP_ENFORCING_MODE), or ${KEEP_VPC_CNI}`,
  ),
  refusedWhen(
    'ENABLE_IPv6', TRUE,
    'IPv6 mode gives pods IPv6 addresses from /80 prefixes; nativeip gives pods IPv4 addresses only, so an IPv6 cluster\'s pods would get addresses of the wrong family',
    `set it to false (in both containers) or remove it, or ${KEEP_VPC_CNI}`,
  ),
  refusedWhen(
    'ENABLE_IPv4', FALSE,
    'false turns IPv4 pod addresses off (IPv6 mode); nativeip gives pods IPv4 addresses only',
    `set it to true or remove it, or ${KEEP_VPC_CNI}`,
  ),
  refusedWhen(
    'ENABLE_V6_EGRESS', TRUE,
    'IPv6 egress gives each pod of an IPv4 cluster a second, IPv6 interface (the egress-cni plugin); nativeip does not implement it, so pods would lose their IPv6 egress',
    'set it to false (in both containers) or remove it',
  ),
  refusedWhen(
    'ENABLE_MULTI_NIC', TRUE,
    'multi-NIC gives pods that ask for it interfaces on the instance\'s other network cards; nativeip manages network card 0 only, so those pods would get one interface',
    `set it to false or remove it, or ${KEEP_VPC_CNI}`,
  ),
  refusedWhen(
    'DISABLE_NETWORK_RESOURCE_PROVISIONING', TRUE,
    'true makes the AWS VPC CNI use only the ENIs and addresses something else attached (it never asks the cloud for more); nativeip creates ENIs and assigns addresses itself and uses only the primary ENI, ENIs it created and ENIs the AWS VPC CNI made for the node, so pods would get addresses from elsewhere than the pre-provisioned ones',
    PROVISION_ITSELF,
  ),
  refusedWhen(
    'ENABLE_IMDS_ONLY_MODE', TRUE,
    'IMDS-only mode reads the node\'s ENIs from instance metadata alone and provisions nothing; nativeip reads the cloud API and provisions ENIs and addresses itself, so pods would get addresses from elsewhere than the pre-provisioned ones',
    PROVISION_ITSELF,
  ),
  refused(
    'NETWORK_POLICY_ENFORCING_MODE', { values: ['strict'] }, { on: 'strict', off: 'standard' },
    'strict mode has the AWS VPC CNI ask its network policy agent to deny a new pod\'s traffic until its policies are in place; nativeip does not call the agent, so new pods would start open',
    'set it to standard or remove it, and enforce default-deny with NetworkPolicy objects',
  ),

  ignoredUnless('ENABLE_SUBNET_DISCOVERY', FALSE,
    'the AWS VPC CNI may create secondary ENIs in other subnets of the node\'s VPC and zone tagged kubernetes.io/role/cni=1; nativeip creates every ENI in the primary ENI\'s subnet, with its security groups. Without such tagged subnets the two behave the same; with them, pods draw only from the primary subnet (it is exhausted sooner; the pool reports SubnetExhausted). Not refused: true is the AWS VPC CNI\'s default and its manifests set it, and the pod network (VPC, zone, security groups, SNAT) is the same either way'),
  ignored('ENI_CONFIG_LABEL_DEF', { on: 'topology.kubernetes.io/zone' }, ENI_CONFIG_NOTE),
  ignored('ENI_CONFIG_ANNOTATION_DEF', { on: 'k8s.amazonaws.com/eniConfig' }, ENI_CONFIG_NOTE),
  ignored('POD_SECURITY_GROUP_ENFORCING_MODE', { on: 'standard' },
    'only applies to pods with branch ENIs (ENABLE_POD_ENI=true, which nativeip refuses)'),
  ignoredUnless('DISABLE_TCP_EARLY_DEMUX', FALSE,
    'only needed for kubelet probes of pods with branch ENIs (ENABLE_POD_ENI=true, which nativeip refuses); nativeip leaves tcp_early_demux alone'),
  ignoredUnless('ENABLE_V4_EGRESS', TRUE,
    'only applies to IPv6 clusters (ENABLE_IPv6=true, which nativeip refuses); IPv4 pods reach IPv4 anyway'),
  ignored('AWS_VPC_K8S_CNI_LOGLEVEL', { on: 'DEBUG' }, 'use NATIVEIP_LOG_LEVEL (trace, debug, info, warn, error, fatal)'),
  ignored('AWS_VPC_K8S_CNI_LOG_FILE', { on: '/host/var/log/vpc-cni/ipamd.log' }, 'use NATIVEIP_LOG_FILE (an absolute path, or stderr)'),
  ignored('AWS_VPC_K8S_PLUGIN_LOG_FILE', { on: '/var/log/vpc-cni/plugin.log' },
    'the nativeip plugin keeps no log file: its errors go to the container runtime in the CNI result, and the daemon logs the address work'),
  ignored('AWS_VPC_K8S_PLUGIN_LOG_LEVEL', { on: 'DEBUG' }, 'the nativeip plugin has no log level of its own; see NATIVEIP_LOG_LEVEL for the daemon'),
  ignored('AWS_VPC_K8S_EGRESS_V4_PLUGIN_LOG_FILE', { on: '/var/log/vpc-cni/egress-v4-plugin.log' }, NO_EGRESS_PLUGIN_NOTE),
  ignored('AWS_VPC_K8S_EGRESS_V6_PLUGIN_LOG_FILE', { on: '/var/log/vpc-cni/egress-v6-plugin.log' }, NO_EGRESS_PLUGIN_NOTE),
  ignored('AWS_VPC_K8S_CNI_BACKING_STORE', { on: '/var/run/vpc-cni/ipam.json' }, 'use NATIVEIP_CHECKPOINT (nativeip does not read the AWS VPC CNI\'s ipam.json)'),
  ignoredUnless('AWS_VPC_K8S_CNI_CONFIGURE_RPFILTER', FALSE,
    'a no-op in the AWS VPC CNI since v1.12.1 (its init container sets rp_filter); nativeip\'s init step (install-cni --rp-filter-loose) sets rp_filter=2 on the primary interface, as that container does'),
  ignored('POD_MTU', { on: '1500', off: '9001' },
    'pods get AWS_VPC_ENI_MTU, which also sets the secondary ENIs\' MTU; set AWS_VPC_ENI_MTU to the MTU pods need',
    { sameAs: 'AWS_VPC_ENI_MTU', sameAsDefault: '9001' }),
  ignored('ADDITIONAL_ENI_TAGS', { on: '{"team":"net"}', off: '{}' },
    'the ENIs nativeip creates carry only its own tags and CLUSTER_NAME\'s; cost allocation or IAM conditions keyed on these tags will not match them', { values: ['{}'] }),
  ignoredUnless('ANNOTATE_POD_IP', FALSE,
    'nativeip does not annotate pods with vpc.amazonaws.com/pod-ips; a policy engine reading it (Calico) waits for the pod IP in the pod status instead'),
  ignoredUnless('ENABLE_BANDWIDTH_PLUGIN', FALSE,
    'nativeip\'s conflist chains no bandwidth plugin: kubernetes.io/ingress-bandwidth and egress-bandwidth pod annotations are not enforced'),
  ignoredUnless('DISABLE_POD_V6', FALSE,
    'nativeip does not chain the tuning plugin: IPv6 stays enabled (link-local only) in pod network namespaces'),
  ignored('ENABLE_NFTABLES', { on: 'true' }, 'nativeip always programs its SNAT with nftables; the variable is deprecated in the AWS VPC CNI'),
  ignoredUnless('AWS_MANAGE_ENIS_NON_SCHEDULABLE', TRUE,
    'nativeip keeps the pool on a cordoned node as on any other (the AWS VPC CNI\'s true)'),
  ignoredUnless('MANAGE_UNTAGGED_ENI', FALSE,
    'nativeip hands out addresses only from the primary ENI, the ENIs it created and those the AWS VPC CNI made for the node (adopted after a switch); other attached ENIs are left alone (the AWS VPC CNI\'s false)'),
  ignored('AWS_EXTERNAL_SERVICE_CIDRS', { on: '10.200.0.0/16' },
    'no extra ip rule to the main routing table is installed; check that pods on secondary ENIs still reach these CIDRs (AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS covers destinations reached through the VPC)'),
  ignored('AWS_EC2_ENDPOINT', { on: 'https://vpce-0123.example.internal' }, 'use AWS_ENDPOINT_URL_EC2'),
  ignored('CLUSTER_ENDPOINT', { on: 'https://example.eks.amazonaws.com' },
    'nativeip reaches the API server through the in-cluster service (KUBERNETES_SERVICE_HOST) or KUBECONFIG'),
  ignored('HOST_CNI_BIN_PATH', { on: '/host/opt/cni/bin' }, 'the install-cni init container takes --bin-dir (manifests/30-daemonset.yaml)'),
  ignored('HOST_CNI_CONFDIR_PATH', { on: '/host/etc/cni/net.d' }, 'use NATIVEIP_CNI_CONF_DIR'),
  ignored('VPC_ID', { on: 'vpc-0123456789abcdef0' }, 'nativeip reads the VPC from instance metadata'),
  ignored('VPC_CNI_VERSION', { on: 'v1.19.2' }, 'the AWS VPC CNI\'s own version label; nativeip has its own version'),
]);

/** Every name in {@link VPC_CNI_VARIABLES}. */
export const VPC_CNI_VARIABLE_NAMES: ReadonlySet<string> = new Set(VPC_CNI_VARIABLES.map((v) => v.name));

/** True, false, or undefined when `value` is not a boolean and `match` wants one. */
function matches(match: ValueMatch, value: string): boolean | undefined {
  if ('bool' in match) {
    const parsed = vpcCniBoolean(value.trim());
    return parsed === undefined ? undefined : parsed === match.bool;
  }
  return match.values.some((v) => v.toLowerCase() === value.trim().toLowerCase());
}

/** What the AWS VPC CNI variables set (non-empty) in `env` mean for nativeip. */
export interface VpcCniJudgement {
  /** Settings that turn on a feature nativeip does not implement: the daemon must not start. */
  readonly refused: readonly ConfigIssue[];
  /** Settings that have no effect here: a warning each. */
  readonly ignored: readonly IgnoredVariable[];
  /** Settings at a value where aws-node behaves as nativeip does: nothing to do. */
  readonly matching: readonly MatchingVariable[];
}

export function judgeVpcCniVariables(env: Env): VpcCniJudgement {
  const refusedIssues: ConfigIssue[] = [];
  const ignoredSettings: IgnoredVariable[] = [];
  const matching: MatchingVariable[] = [];
  for (const variable of VPC_CNI_VARIABLES) {
    const value = env[variable.name];
    if (value === undefined || value === '') continue;
    const kind = variable.class;
    if (kind.kind === 'refused') {
      const on = matches(kind.on, value);
      if (on === false) matching.push({ env: variable.name, value });
      else refusedIssues.push({ env: variable.name, message: refusalMessage(variable.name, value, kind, on === undefined) });
    } else if (kind.kind === 'ignored') {
      if (isQuiet(kind.quiet, value, env)) matching.push({ env: variable.name, value });
      else ignoredSettings.push({ env: variable.name, value, note: kind.note });
    }
  }
  return { refused: refusedIssues, ignored: ignoredSettings, matching };
}

function isQuiet(quiet: Extract<VpcCniClass, { kind: 'ignored' }>['quiet'], value: string, env: Env): boolean {
  if (quiet === undefined) return false;
  if ('sameAs' in quiet) {
    const other = env[quiet.sameAs];
    return value.trim() === (other === undefined || other === '' ? quiet.sameAsDefault : other.trim());
  }
  return matches(quiet, value) === true;
}

const MAX_SHOWN_VALUE = 80;

/**
 * One line: the variable and its value, that it is refused, why, and what to do. A value that is
 * not a boolean where one is expected is refused too: aws-node would log an error and fall back to
 * its default, and nativeip cannot tell which the operator meant.
 */
function refusalMessage(
  name: string,
  value: string,
  kind: Extract<VpcCniClass, { kind: 'refused' }>,
  notBoolean: boolean,
): string {
  const shown = JSON.stringify(value.length > MAX_SHOWN_VALUE ? `${value.slice(0, MAX_SHOWN_VALUE)}…` : value);
  if (notBoolean && 'bool' in kind.on) {
    return (
      `${name}=${shown}: refused: not a boolean (true/false, 1/0, t/f) — the AWS VPC CNI would log an error and use its default, ` +
      `and nativeip cannot tell whether a feature it does not implement is meant to be on (${kind.why}); set it to ${offValue(kind.on)} or remove it`
    );
  }
  return `${name}=${shown}: refused: ${kind.why}; ${kind.instead}`;
}
