/**
 * The table of the daemon's environment variables: names, parsers, defaults and the text the
 * README and `nativeip` show. One entry per {@link DaemonConfig} field, checked by the compiler.
 */

import { DEFAULT_SOCKET_PATH } from '../../rpc/protocol.js';
import type { SnatPortMode } from '../datapath/snat.js';
import type { CommonConfig, LogLevel } from './config.js';
import { documentedVariables, type ConfigVariable, type SpecTable } from '../../core/config/config-variable.js';
import { CLOUD_PLUGINS } from '../clouds.js';
import { CLUSTER_CONFIG_SPECS } from './config-variables-cluster.js';
import {
  MAX_SOCKET_PATH_BYTES,
  MAX_TIMER_SECONDS,
  absolutePath,
  boolean,
  connmark,
  ipv4CidrList,
  logDestination,
  oneOf,
  secondsAsMs,
  vethPrefix,
  wholeNumber,
  type Parser,
} from '../../core/config/config-parsers.js';

export type { ConfigVariable, VariableSpec } from '../../core/config/config-variable.js';

const optional = <T>(parser: Parser<T>): Parser<T | undefined> => parser;

const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const CLOUDS: readonly string[] = [...CLOUD_PLUGINS.map((p) => p.name), 'auto'];
const SNAT_PORT_MODES: readonly SnatPortMode[] = ['none', 'hashrandom', 'prng'];
const COUNT = 'a whole number ≥ 0';

export const CONFIG_SPECS: SpecTable<CommonConfig> = {
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
  cloud: {
    env: 'NATIVEIP_CLOUD',
    field: 'cloud',
    allowed: `one of ${CLOUDS.join(', ')}`,
    default: 'auto',
    description: `Cloud provider; auto probes the metadata services of ${CLOUD_PLUGINS.map((p) => p.title).join(' and ')} (1 s each, at once) and uses the one that answers.`,
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
  ...CLUSTER_CONFIG_SPECS,
};

/** Every variable the daemon reads, in README order: its own, then each cloud's. */
export const CONFIG_VARIABLES: readonly ConfigVariable[] = Object.freeze([
  ...documentedVariables(CONFIG_SPECS),
  ...CLOUD_PLUGINS.flatMap((plugin) => documentedVariables(plugin.settings, plugin.name)),
]);

/** Every name the daemon reads, fallbacks included. */
export const KNOWN_NAMES: ReadonlySet<string> = new Set(
  CONFIG_VARIABLES.flatMap((v) => (v.fallbackEnv === undefined ? [v.env] : [v.env, v.fallbackEnv])),
);
