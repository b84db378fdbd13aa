/**
 * The table of the daemon's environment variables: names, parsers, defaults and the text the
 * README and `nativeip` show. One entry per {@link DaemonConfig} field, checked by the compiler.
 */

import { DEFAULT_SOCKET_PATH } from '../rpc/protocol.js';
import type { SnatPortMode } from '../cni/datapath/snat.js';
import type { CloudChoice, DaemonConfig, LogLevel } from './config.js';
import type { ConfigVariable, VariableSpec } from './config-variable.js';
import { CLUSTER_CONFIG_SPECS } from './config-variables-cluster.js';
import {
  MAX_SOCKET_PATH_BYTES,
  MAX_TIMER_SECONDS,
  absolutePath,
  awsRegion,
  boolean,
  clusterName,
  connmark,
  guid,
  httpUrl,
  httpsUrl,
  ipv4CidrList,
  logDestination,
  oneOf,
  secondsAsMs,
  vethPrefix,
  wholeNumber,
  type Parser,
} from './config-parsers.js';

export type { ConfigVariable, VariableSpec } from './config-variable.js';

const optional = <T>(parser: Parser<T>): Parser<T | undefined> => parser;

const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const CLOUDS: readonly CloudChoice[] = ['aws', 'azure', 'auto'];
const SNAT_PORT_MODES: readonly SnatPortMode[] = ['none', 'hashrandom', 'prng'];
const COUNT = 'a whole number ≥ 0';

export const CONFIG_SPECS: { readonly [K in keyof DaemonConfig]: VariableSpec<K> } = {
  warmEniTarget: {
    env: 'WARM_ENI_TARGET',
    field: 'warmEniTarget',
    allowed: COUNT,
    default: 'unset (the adaptive default)',
    description:
      'Spare interfaces, with all their addresses, to keep attached (the AWS VPC CNI default is 1). ' +
      'Ignored when WARM_IP_TARGET or MINIMUM_IP_TARGET is set. When none of WARM_ENI_TARGET, ' +
      'WARM_IP_TARGET, MINIMUM_IP_TARGET is set (and prefix delegation is off), nativeip uses its ' +
      'adaptive default. 0 with both IP targets unset: attach a new interface only when the pool is ' +
      'empty; 0 with IP targets that are all 0 is refused (no warm target).',
    parse: optional(wholeNumber(0)),
    fallback: undefined,
  },
  warmIpTarget: {
    env: 'WARM_IP_TARGET',
    field: 'warmIpTarget',
    allowed: COUNT,
    default: 'unset',
    description:
      'Free addresses to keep in the pool. Unlike the AWS VPC CNI, 0 is a value (keep none spare), ' +
      'not the same as unset, and an invalid value is an error rather than unset.',
    parse: optional(wholeNumber(0)),
    fallback: undefined,
  },
  minimumIpTarget: {
    env: 'MINIMUM_IP_TARGET',
    field: 'minimumIpTarget',
    allowed: COUNT,
    default: 'unset',
    description: 'Addresses (free and assigned) the pool keeps at least, from start-up on.',
    parse: optional(wholeNumber(0)),
    fallback: undefined,
  },
  maxEni: {
    env: 'MAX_ENI',
    field: 'maxEni',
    allowed: 'a whole number ≥ 1',
    default: 'unset (the instance type limit)',
    description:
      'Most interfaces to attach, the primary included; the instance type limit still applies. ' +
      'The AWS VPC CNI reads values below 1 as unset; nativeip refuses them.',
    parse: optional(wholeNumber(1)),
    fallback: undefined,
  },
  prefixDelegation: {
    env: 'ENABLE_PREFIX_DELEGATION',
    field: 'prefixDelegation',
    allowed: 'true or false (any letter case), or 1 or 0',
    default: 'false',
    description:
      'Grow the pool with /28 prefixes (16 addresses each, one address slot of the interface) instead of ' +
      'single addresses. When the subnet has no free aligned /28, nativeip falls back to single addresses ' +
      'for 5 minutes instead of failing pods.',
    parse: boolean,
    fallback: false,
  },
  warmPrefixTarget: {
    env: 'WARM_PREFIX_TARGET',
    field: 'warmPrefixTarget',
    allowed: COUNT,
    default: '1',
    description:
      'In prefix mode, wholly free prefixes to keep. Overridden by WARM_IP_TARGET / MINIMUM_IP_TARGET; ' +
      'ignored without ENABLE_PREFIX_DELEGATION. 0 without an IP target is refused (no warm target).',
    parse: wholeNumber(0),
    fallback: 1,
  },
  ipCooldownMs: {
    env: 'IP_COOLDOWN_PERIOD',
    field: 'ipCooldownMs',
    allowed: `a whole number of seconds from 0 to ${MAX_TIMER_SECONDS}`,
    default: '30',
    description: 'Seconds a released address rests before another pod may get it.',
    parse: secondsAsMs(0),
    fallback: 30_000,
  },
  mtu: {
    env: 'AWS_VPC_ENI_MTU',
    field: 'mtu',
    allowed: 'a whole number from 576 to 9001',
    default: '9001',
    description: 'MTU of secondary interfaces and of pod interfaces.',
    parse: wholeNumber(576, 9001),
    fallback: 9001,
  },
  vethPrefix: {
    env: 'AWS_VPC_K8S_CNI_VETHPREFIX',
    field: 'vethPrefix',
    allowed: '1 to 4 characters a-z 0-9, not eth, lo or vlan',
    default: 'eni',
    description: 'Prefix of host-side veth names.',
    parse: vethPrefix,
    fallback: 'eni',
  },
  externalSnat: {
    env: 'AWS_VPC_K8S_CNI_EXTERNALSNAT',
    field: 'externalSnat',
    allowed: 'true or false (any letter case), or 1 or 0',
    default: 'false',
    description:
      'true: traffic leaving the VPC keeps the pod address (a NAT gateway or similar translates ' +
      'it); false: the node SNATs it to its primary address.',
    parse: boolean,
    fallback: false,
  },
  excludeSnatCidrs: {
    env: 'AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS',
    field: 'excludeSnatCidrs',
    allowed: 'comma-separated IPv4 CIDRs such as 10.1.0.0/16,192.168.0.0/24',
    default: 'unset (none)',
    description:
      'Destinations outside the VPC that keep the pod address, like the VPC itself (peered VPCs, a ' +
      'VPN); pods on a secondary interface reach them through that interface. Ignored with external SNAT.',
    parse: ipv4CidrList,
    fallback: [],
  },
  randomizeSnat: {
    env: 'AWS_VPC_K8S_CNI_RANDOMIZESNAT',
    field: 'randomizeSnat',
    allowed: 'one of none, hashrandom, prng (any letter case)',
    default: 'prng',
    description:
      'Source ports of SNATed connections: prng picks them fully at random (iptables --random-fully), ' +
      'hashrandom by a keyed hash (--random), none sequentially.',
    parse: oneOf(SNAT_PORT_MODES),
    fallback: 'prng',
  },
  nodePortSupport: {
    env: 'AWS_VPC_CNI_NODE_PORT_SUPPORT',
    field: 'nodePortSupport',
    allowed: 'true or false (any letter case), or 1 or 0',
    default: 'true',
    description:
      'true: replies of connections that arrived on the primary interface for the node address (NodePort, ' +
      'any DNAT on the node) leave by the primary interface even from pods on a secondary interface: ' +
      'a connection mark in the nftables table and the rule fwmark M/M lookup main at priority 1024. ' +
      'The primary interface needs loose reverse-path filtering (rp_filter=2), as with the AWS VPC CNI.',
    parse: boolean,
    fallback: true,
  },
  connmark: {
    env: 'AWS_VPC_K8S_CNI_CONNMARK',
    field: 'connmark',
    allowed: 'a mark from 1 to 0xffffffff, decimal (128) or hexadecimal (0x80)',
    default: '0x80',
    description:
      'The mark bit(s) of AWS_VPC_CNI_NODE_PORT_SUPPORT, on connections and packets; pick bits nothing else on ' +
      'the node uses (kube-proxy uses 0x4000 and 0x8000, Calico 0xffff0000).',
    parse: connmark,
    fallback: 0x80,
  },
  clusterName: {
    env: 'CLUSTER_NAME',
    field: 'clusterName',
    allowed: 'letters, digits, ".", "-" and "_", starting with a letter or digit, at most 253',
    default: 'unset',
    description: 'Cluster name, tagged on the interfaces nativeip creates.',
    parse: optional(clusterName),
    fallback: undefined,
  },
  ec2Endpoint: {
    env: 'AWS_ENDPOINT_URL_EC2',
    field: 'ec2Endpoint',
    allowed: 'an http:// or https:// URL without user:password',
    default: 'unset (the SDK default)',
    description: 'EC2 API endpoint, e.g. the emulator. Read by the AWS SDK under the same name.',
    parse: optional(httpUrl),
    fallback: undefined,
  },
  imdsEndpoint: {
    env: 'AWS_EC2_METADATA_SERVICE_ENDPOINT',
    field: 'imdsEndpoint',
    allowed: 'an http:// or https:// URL without user:password',
    default: 'unset (http://169.254.169.254)',
    description: 'Instance metadata endpoint, e.g. the emulator. Same name as the AWS SDK uses.',
    parse: optional(httpUrl),
    fallback: undefined,
  },
  region: {
    env: 'AWS_REGION',
    fallbackEnv: 'AWS_DEFAULT_REGION',
    field: 'region',
    allowed: 'an AWS region name such as us-east-1',
    default: 'unset (read from instance metadata)',
    description: 'AWS region; AWS_DEFAULT_REGION is read when AWS_REGION is unset.',
    parse: optional(awsRegion),
    fallback: undefined,
  },
  cloud: {
    env: 'NATIVEIP_CLOUD',
    field: 'cloud',
    allowed: 'one of aws, azure, auto',
    default: 'auto',
    description: 'Cloud provider; auto probes the AWS and Azure metadata services (1 s each) and uses the one that answers.',
    parse: oneOf(CLOUDS),
    fallback: 'auto',
  },
  socketPath: {
    env: 'NATIVEIP_SOCKET',
    field: 'socketPath',
    allowed: `an absolute path of at most ${MAX_SOCKET_PATH_BYTES} bytes`,
    default: DEFAULT_SOCKET_PATH,
    description: 'Unix socket the CNI plugin connects to.',
    parse: absolutePath({ maxBytes: MAX_SOCKET_PATH_BYTES }),
    fallback: DEFAULT_SOCKET_PATH,
  },
  checkpointPath: {
    env: 'NATIVEIP_CHECKPOINT',
    field: 'checkpointPath',
    allowed: 'an absolute path',
    default: '/run/nativeip/checkpoint.json',
    description: 'File keeping allocations across daemon restarts.',
    parse: absolutePath(),
    fallback: '/run/nativeip/checkpoint.json',
  },
  lockWaitMs: {
    env: 'NATIVEIP_LOCK_WAIT',
    field: 'lockWaitMs',
    allowed: `a whole number of seconds from 0 to ${MAX_TIMER_SECONDS}`,
    default: '40',
    description:
      'Seconds a daemon waits for another one on the same node (the same checkpoint or socket directory) to stop before it ' +
      'exits with the other one’s PID; two never serve at once. The default outlasts the DaemonSet’s 30 s termination grace ' +
      'period, after which kubelet kills the old daemon and the kernel drops its lock. 0: exit at once.',
    parse: secondsAsMs(0),
    fallback: 40_000,
  },
  logLevel: {
    env: 'NATIVEIP_LOG_LEVEL',
    field: 'logLevel',
    allowed: `one of ${LOG_LEVELS.join(', ')} (any letter case)`,
    default: 'info',
    description: 'Least severe level logged.',
    parse: oneOf(LOG_LEVELS),
    fallback: 'info',
  },
  logFile: {
    env: 'NATIVEIP_LOG_FILE',
    field: 'logFile',
    allowed: 'an absolute path, or stderr',
    default: 'stderr',
    description: 'Where the JSON log goes; a file is appended to.',
    parse: logDestination,
    fallback: 'stderr',
  },
  hostNetnsPath: {
    env: 'NATIVEIP_HOST_NETNS',
    field: 'hostNetnsPath',
    allowed: 'an absolute path',
    default: 'unset (the daemon’s own namespace)',
    description:
      'Network namespace (e.g. /run/netns/node1) to treat as the host; for the test fabric and demo.',
    parse: optional(absolutePath()),
    fallback: undefined,
  },
  reconcileIntervalMs: {
    env: 'NATIVEIP_RECONCILE_INTERVAL',
    field: 'reconcileIntervalMs',
    allowed: `a whole number of seconds from 1 to ${MAX_TIMER_SECONDS}`,
    default: '60',
    description: 'Seconds between reconciles of the pool against the cloud.',
    parse: secondsAsMs(1),
    fallback: 60_000,
  },
  attachTimeoutMs: {
    env: 'NATIVEIP_ATTACH_TIMEOUT',
    field: 'attachTimeoutMs',
    allowed: `a whole number of seconds from 1 to ${MAX_TIMER_SECONDS}`,
    default: '60',
    description: 'Seconds to wait for an attached interface to appear as a Linux link.',
    parse: secondsAsMs(1),
    fallback: 60_000,
  },
  disableLeakedEniCleanup: {
    env: 'DISABLE_LEAKED_ENI_CLEANUP',
    field: 'disableLeakedEniCleanup',
    allowed: 'true or false (any letter case), or 1 or 0',
    default: 'false',
    description: 'true: never delete leaked interfaces (see NATIVEIP_ENI_GC_INTERVAL).',
    parse: boolean,
    fallback: false,
  },
  eniGcIntervalMs: {
    env: 'NATIVEIP_ENI_GC_INTERVAL',
    field: 'eniGcIntervalMs',
    allowed: `a whole number of seconds from 1 to ${MAX_TIMER_SECONDS}`,
    default: '300',
    description:
      'Seconds (±20 % jitter) between sweeps that delete leaked interfaces: detached, tagged as nativeip’s ' +
      '(and CLUSTER_NAME’s), of this node (unless its own create of it is under way) or, older than 5 minutes, of an ' +
      'instance that no longer exists.',
    parse: secondsAsMs(1),
    fallback: 300_000,
  },
  azureArmEndpoint: {
    env: 'NATIVEIP_AZURE_ARM_ENDPOINT',
    field: 'azureArmEndpoint',
    allowed: 'an https:// URL without user:password',
    default: 'unset (https://management.azure.com)',
    description: 'Azure Resource Manager endpoint, e.g. the emulator or a sovereign cloud. https only: the Azure SDKs send bearer tokens over TLS only.',
    parse: optional(httpsUrl),
    fallback: undefined,
  },
  azureArmCaBundle: {
    env: 'NATIVEIP_AZURE_ARM_CA_BUNDLE',
    field: 'azureArmCaBundle',
    allowed: 'an absolute path',
    default: 'unset (the system CAs)',
    description: 'PEM file of extra certificate authorities trusted for ARM (the emulator’s self-signed certificate); TLS is never switched off.',
    parse: optional(absolutePath()),
    fallback: undefined,
  },
  azureImdsEndpoint: {
    env: 'NATIVEIP_AZURE_IMDS_ENDPOINT',
    field: 'azureImdsEndpoint',
    allowed: 'an http:// or https:// URL without user:password',
    default: 'unset (http://169.254.169.254)',
    description: 'Azure instance metadata endpoint, e.g. the emulator; the managed-identity token is fetched from it too.',
    parse: optional(httpUrl),
    fallback: undefined,
  },
  azureBatchSize: {
    env: 'NATIVEIP_AZURE_BATCH_SIZE',
    field: 'azureBatchSize',
    allowed: 'a whole number from 1 to 255',
    default: '32',
    description: 'Most IP configurations one NIC write adds; a larger shortfall takes several writes.',
    parse: wholeNumber(1, 255),
    fallback: 32,
  },
  azureClientId: {
    env: 'AZURE_CLIENT_ID',
    field: 'azureClientId',
    allowed: 'a GUID such as 6f1c1a9e-0b8d-4c63-9a43-2d2a7f3b1c55',
    default: 'unset (the system-assigned identity)',
    description: 'Client id of the user-assigned managed identity (or workload identity) nativeip authenticates as.',
    parse: optional(guid),
    fallback: undefined,
  },
  ...CLUSTER_CONFIG_SPECS,
};

/** Every variable the daemon reads, in README order. */
export const CONFIG_VARIABLES: readonly ConfigVariable[] = Object.freeze(
  Object.values(CONFIG_SPECS).map((spec): ConfigVariable => {
    const { env, fallbackEnv, field, allowed, description } = spec;
    const documented = { env, field, allowed, default: spec.default, description };
    return Object.freeze(fallbackEnv === undefined ? documented : { ...documented, fallbackEnv });
  }),
);

/** Every name the daemon reads, fallbacks included. */
export const KNOWN_NAMES: ReadonlySet<string> = new Set(
  CONFIG_VARIABLES.flatMap((v) => (v.fallbackEnv === undefined ? [v.env] : [v.env, v.fallbackEnv])),
);
