/**
 * SNAT of pod traffic leaving the VPC, as the AWS VPC CNI does (its AWS-SNAT-CHAIN): packets from
 * pods whose destination is outside every VPC CIDR (and outside the configured exclusions) get the
 * node's primary address, so they leave through the primary interface with the one address an
 * internet gateway maps to a public IP. nftables, in a table of our own in the host namespace.
 *
 * The same table holds the node-port marking chain (node-port.ts) when
 * AWS_VPC_CNI_NODE_PORT_SUPPORT is on; both parts are written in one transaction.
 *
 * Rendering is pure; {@link NftEgressNat} runs `nft -f -` (inside the host namespace through
 * `nsenter` when the daemon runs elsewhere). Not on the per-pod path: applied at daemon start and
 * when the VPC CIDRs change. The table is left in place when the daemon stops, so a restarting
 * daemon never breaks pod egress.
 */
import { execFile } from 'node:child_process';
import { DatapathError } from './types.js';
import { ipv4ToBytes, parseCidr } from '../../core/ipv4.js';
import { renderNodePortChain, type NodePortRules } from './node-port.js';

export type { NodePortRules } from './node-port.js';

/** nftables table (family ip) holding our SNAT rule. */
export const SNAT_TABLE = 'nativeip';
/** Set of VPC CIDRs: pod sources, and destinations that keep the pod's address. */
export const SNAT_VPC_SET = 'vpc_cidrs';
/** Set of further destinations that keep the pod's address (AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS). */
export const SNAT_EXCLUDED_SET = 'snat_exclusions';
/** Named counter of connections SNATed (first packets only: NAT rules see a connection once). */
export const SNAT_COUNTER = 'snat_connections';

/**
 * Source port choice (AWS_VPC_K8S_CNI_RANDOMIZESNAT): `none` keeps the kernel's sequential
 * choice, `hashrandom` is nft `random` (iptables `--random`), `prng` is `fully-random`
 * (`--random-fully`, the AWS VPC CNI's default).
 */
export type SnatPortMode = 'none' | 'hashrandom' | 'prng';

export interface SnatRules {
  /** The node's primary address: the source traffic leaving the VPC gets. */
  readonly primaryIp: string;
  /** The VPC's CIDRs. At least one. */
  readonly vpcCidrs: readonly string[];
  /** Further destinations that keep the pod's address. */
  readonly excludedCidrs: readonly string[];
  /** Host-side veth prefix: packets that arrive from a pod's veth are the pod traffic. */
  readonly podInterfacePrefix: string;
  readonly ports: SnatPortMode;
}

/** What the node's nft table holds: either part, or both. */
export interface NodeNftRules {
  /** SNAT of pod traffic leaving the VPC; absent with external SNAT or on Azure. */
  readonly snat?: SnatRules;
  /** Node-port marking; absent when AWS_VPC_CNI_NODE_PORT_SUPPORT is off. */
  readonly nodePort?: NodePortRules;
}

/** The node's nft table as the daemon uses it; {@link NftEgressNat} on a real node. */
export interface EgressNat {
  /**
   * Installs or replaces the table with exactly `rules`, atomically (one nft transaction); with
   * neither part, removes it. Idempotent. Throws a DatapathError naming nft when it is missing or
   * refuses the rules.
   */
  apply(rules: NodeNftRules): Promise<void>;
  /** Removes the table if present. Idempotent. */
  remove(): Promise<void>;
}

const PORT_FLAGS: Readonly<Record<SnatPortMode, string>> = { none: '', hashrandom: ' random', prng: ' fully-random' };

function cidrList(cidrs: readonly string[]): string[] {
  return [...new Set(cidrs.map((cidr) => parseCidr(cidr).text))];
}

function setBlock(name: string, cidrs: readonly string[]): string[] {
  const elements = cidrs.length === 0 ? [] : [`    elements = { ${cidrs.join(', ')} }`];
  // auto-merge: overlapping CIDRs (a VPC CIDR and an exclusion inside it) are one interval.
  return [`  set ${name} {`, '    type ipv4_addr; flags interval; auto-merge;', ...elements, '  }'];
}

/**
 * The nft script that makes the table exactly `rules`: declare (so the delete never fails), delete,
 * then define it, in one transaction. Throws a RangeError on an invalid address, CIDR or prefix.
 */
export function renderSnatRuleset(rules: SnatRules): string {
  return renderNodeRuleset({ snat: rules });
}

/**
 * The nft script for the whole table: its SNAT part, its node-port part, or both, replacing what
 * was there in one transaction; with neither part, the removal script. Throws a RangeError on an
 * invalid address, CIDR, prefix or mark.
 */
export function renderNodeRuleset(rules: NodeNftRules): string {
  const body = [...(rules.snat === undefined ? [] : snatBody(rules.snat)), ...(rules.nodePort === undefined ? [] : renderNodePortChain(rules.nodePort))];
  if (body.length === 0) return renderSnatRemoval();
  return [...renderSnatRemoval().trimEnd().split('\n'), `table ip ${SNAT_TABLE} {`, ...body, '}', ''].join('\n');
}

function snatBody(rules: SnatRules): string[] {
  ipv4ToBytes(rules.primaryIp);
  if (!/^[a-z0-9]{1,4}$/.test(rules.podInterfacePrefix)) {
    throw new RangeError(`invalid pod interface prefix ${JSON.stringify(rules.podInterfacePrefix)}: 1 to 4 characters a-z 0-9`);
  }
  const vpc = cidrList(rules.vpcCidrs);
  if (vpc.length === 0) throw new RangeError('no VPC CIDR: SNAT needs the VPC CIDRs to tell traffic leaving the VPC apart');
  const excluded = cidrList(rules.excludedCidrs);
  const rule =
    `    iifname "${rules.podInterfacePrefix}*" ip saddr @${SNAT_VPC_SET} ip daddr != @${SNAT_VPC_SET} ip daddr != @${SNAT_EXCLUDED_SET} ` +
    `counter name "${SNAT_COUNTER}" snat to ${rules.primaryIp}${PORT_FLAGS[rules.ports]} comment "pods leaving the VPC"`;
  return [
    ...setBlock(SNAT_VPC_SET, vpc),
    ...setBlock(SNAT_EXCLUDED_SET, excluded),
    `  counter ${SNAT_COUNTER} {}`,
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    rule,
    '  }',
  ];
}

/** The nft script that removes the table whether or not it exists. */
export function renderSnatRemoval(): string {
  return `table ip ${SNAT_TABLE} {}\ndelete table ip ${SNAT_TABLE}\n`;
}

/** Runs `argv` with `input` on stdin; rejects with the exit status and stderr, or ENOENT. */
export type CommandRunner = (argv: readonly [string, ...string[]], input: string) => Promise<void>;

function runCommand(argv: readonly [string, ...string[]], input: string): Promise<void> {
  const [file, ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: 10_000, killSignal: 'SIGKILL' }, (error, _stdout, stderr) => {
      if (error === null) resolve();
      else reject(Object.assign(error, { stderr: String(stderr).trim() }));
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}

export interface NftEgressNatOptions {
  /** Network namespace to program (NATIVEIP_HOST_NETNS); default the daemon's own. */
  readonly hostNetnsPath?: string;
  /** Replaces process spawning (tests). */
  readonly run?: CommandRunner;
}

/** {@link EgressNat} through the `nft` command. Skips a call whose script equals the last one applied. */
export class NftEgressNat implements EgressNat {
  readonly #hostNetnsPath: string | undefined;
  readonly #run: CommandRunner;
  #applied: string | undefined;

  constructor(options: NftEgressNatOptions = {}) {
    this.#hostNetnsPath = options.hostNetnsPath;
    this.#run = options.run ?? runCommand;
  }

  async apply(rules: NodeNftRules): Promise<void> {
    let script: string;
    try {
      script = renderNodeRuleset(rules);
    } catch (err) {
      throw new DatapathError('render SNAT rules', err instanceof Error ? err.message : String(err), { cause: err });
    }
    if (script === this.#applied) return;
    await this.#nft(script, rules.snat === undefined && rules.nodePort === undefined ? 'remove SNAT rules' : 'install SNAT rules');
    this.#applied = script;
  }

  async remove(): Promise<void> {
    await this.#nft(renderSnatRemoval(), 'remove SNAT rules');
    this.#applied = undefined;
  }

  async #nft(script: string, step: string): Promise<void> {
    const argv: [string, ...string[]] =
      this.#hostNetnsPath === undefined ? ['nft', '-f', '-'] : ['nsenter', `--net=${this.#hostNetnsPath}`, '--', 'nft', '-f', '-'];
    const where = this.#hostNetnsPath === undefined ? '' : ` in ${this.#hostNetnsPath}`;
    try {
      await this.#run(argv, script);
    } catch (err) {
      throw new DatapathError(`${step}${where}`, nftFailure(err, argv[0]), { cause: err });
    }
  }
}

/** Why nft failed, in words: missing program, exit status with nft's own message, or a timeout. */
function nftFailure(err: unknown, program: string): string {
  const e = err as { code?: unknown; stderr?: unknown; killed?: unknown; message?: unknown };
  if (e.code === 'ENOENT') {
    return program === 'nft' ? 'nft is not installed (install the nftables package)' : `${program} is not installed (util-linux), needed to run nft in the host network namespace`;
  }
  if (e.killed === true) return 'nft did not finish within 10 s';
  const stderr = typeof e.stderr === 'string' ? e.stderr : '';
  // nsenter execs nft: exit 127 with "No such file" means nft itself is missing.
  if (/nft.*No such file or directory|failed to execute nft/i.test(stderr)) return 'nft is not installed (install the nftables package)';
  const who = stderr.startsWith('nsenter:') ? 'nsenter' : 'nft';
  const status = typeof e.code === 'number' ? `${who} exited with ${e.code}` : `${who} failed`;
  return stderr === '' ? `${status}: ${String(e.message)}` : `${status}: ${stderr}`;
}
