import { readdir } from 'node:fs/promises';
import { cidrContains, isIpv4 } from '../../core/ipv4.js';
import { FabricError } from './errors.js';
import {
  NFT_DROP_COUNTER,
  NFT_IGW_COUNTER,
  NFT_INTERNET_TABLE,
  NFT_SEEN_SET,
  NFT_TABLE,
  NODE_SYSCTLS,
  VPC_SYSCTLS,
  renderInternetNft,
  renderInternetSide,
  renderInternetVpcSide,
  renderNftRuleset,
  renderSyncCommands,
  renderVpcHostNft,
  renderVpcHostSide,
  renderVpcHostVpcSide,
  type InternetWiring,
  type SyncCommands,
  type VpcHostWiring,
} from './fabric-commands.js';
import {
  EMPTY_FABRIC_STATE,
  defaultVpcHostIp,
  findAddressClash,
  planSync,
  vpcRouterIp,
  type FabricState,
  type FabricTopology,
} from './fabric-plan.js';
import { execInNetns, run } from './netns-exec.js';

const NETNS_DIR = '/run/netns';
/** The internet host's default address and its gateway: TEST-NET-3 (RFC 5737), never routed. */
const INTERNET_HOST_IP = '203.0.113.10';
const INTERNET_GATEWAY_IP = '203.0.113.1';
const PREFIX_PATTERN = /^[a-z0-9][a-z0-9-]{0,9}$/;

/**
 * What the fabric needs from the emulated cloud. Each cloud's emulator folder adapts its emulator to
 * it (src/emulator/<cloud>/fabric.ts): its machines as instances, its interfaces with every address
 * they hold.
 */
export interface FabricEmulator {
  topology(): FabricTopology;
  /** Registers a listener called after every change; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
  /** Every subnet of the VPC, used or not; the vpc-host address must stay outside them all. */
  subnets?(): readonly { readonly cidr: string }[];
}

export interface FabricOptions {
  /**
   * Prefix of every namespace the fabric creates: `<prefix>vpc`, `<prefix>vh`, `<prefix>n1`, …
   * Lower-case letters, digits and `-`, at most 10 characters. Default `nip-`.
   */
  readonly prefix?: string;
  /**
   * The vpc-host's address. It must be in the VPC CIDR and outside every subnet an ENI uses.
   * Default: the second-to-last address of the VPC CIDR.
   */
  readonly vpcHostIp?: string;
  /** MTU of every emulated link: the cloud's (its emulator folder's fabric wiring passes it). */
  readonly mtu: number;
  /** The internet host's address, outside the VPC CIDR. Default 203.0.113.10 (a documentation range). */
  readonly internetHostIp?: string;
}

/** A machine elsewhere in the VPC, reachable from every node and pod. */
export interface VpcHost {
  /** Namespace name, `<prefix>vh`. */
  readonly netns: string;
  /** `/run/netns/<prefix>vh`. */
  readonly netnsPath: string;
  /** Its only address, on its `eth0`. */
  readonly ip: string;
}

/** A host on the internet, outside the VPC, reached through the internet gateway. */
export type InternetHost = VpcHost;

/** An emulated instance as a node namespace. */
export interface FabricNode {
  readonly instanceId: string;
  readonly netns: string;
  readonly netnsPath: string;
}

async function listNetns(): Promise<string[]> {
  try {
    return await readdir(NETNS_DIR);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

async function deleteNetns(names: readonly string[]): Promise<void> {
  const present = new Set(await listNetns());
  const doomed = names.filter((n) => present.has(n));
  if (doomed.length === 0) return;
  await run('ip', ['-force', '-batch', '-'], { input: doomed.map((n) => `netns del ${n}\n`).join('') }).catch(() => undefined);
  const left = (await listNetns()).filter((n) => doomed.includes(n));
  if (left.length > 0) throw new FabricError('CommandFailed', `could not delete network namespaces ${left.join(', ')}`);
}

function ipBatch(netns: string | undefined, lines: readonly string[]): Promise<unknown> {
  const args = netns === undefined ? ['-batch', '-'] : ['-n', netns, '-batch', '-'];
  return run('ip', args, { input: `${lines.join('\n')}\n` });
}

function decodeCounterPackets(json: string): number {
  const parsed: unknown = JSON.parse(json);
  const items: unknown = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)['nftables'] : undefined;
  if (Array.isArray(items)) {
    for (const item of items as unknown[]) {
      if (typeof item !== 'object' || item === null) continue;
      const counter: unknown = (item as Record<string, unknown>)['counter'];
      if (typeof counter !== 'object' || counter === null) continue;
      const packets: unknown = (counter as Record<string, unknown>)['packets'];
      if (typeof packets === 'number') return packets;
    }
  }
  throw new FabricError('CommandFailed', `nft printed no counter with a packet count: ${json.slice(0, 200)}`);
}

/** The addresses of an nft set listed as JSON (`nft -j list set`); elements may carry metadata. */
function decodeSetElements(json: string): string[] {
  const parsed: unknown = JSON.parse(json);
  const items: unknown = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)['nftables'] : undefined;
  if (!Array.isArray(items)) throw new FabricError('CommandFailed', `nft printed no set: ${json.slice(0, 200)}`);
  const out: string[] = [];
  for (const item of items as unknown[]) {
    const set: unknown = typeof item === 'object' && item !== null ? (item as Record<string, unknown>)['set'] : undefined;
    if (typeof set !== 'object' || set === null) continue;
    const elems: unknown = (set as Record<string, unknown>)['elem'];
    if (!Array.isArray(elems)) continue;
    for (const elem of elems as unknown[]) {
      if (typeof elem === 'string') out.push(elem);
      else if (typeof elem === 'object' && elem !== null) {
        const inner: unknown = (elem as Record<string, unknown>)['elem'];
        const val: unknown = typeof inner === 'object' && inner !== null ? (inner as Record<string, unknown>)['val'] : undefined;
        if (typeof val === 'string') out.push(val);
      }
    }
  }
  return out;
}

/**
 * Mirrors an emulated AWS VPC with real network namespaces, for e2e tests and the demo.
 *
 * - `<prefix>vpc`: the VPC router. Routes every address an ENI holds to that ENI's veth with a
 *   permanent neighbour entry for the ENI's MAC, and each /28 prefix delegated to an ENI as a
 *   whole (next hop the ENI's primary address). It drops (and counts) forwarded packets whose
 *   source is neither assigned to the ENI they arrive from nor inside a prefix delegated to it.
 * - `<prefix>n<k>`: one namespace per instance; ENI device N is the link `eth<N>` with the ENI's
 *   MAC. `eth0` is configured as at boot; secondary ENIs are left down for the daemon.
 * - `<prefix>vh`: another machine in the VPC ({@link NetworkFabric.vpcHost}).
 * - `<prefix>inet`: a host on the internet ({@link NetworkFabric.internetHost}) behind the vpc
 *   namespace acting as internet gateway: it forwards to the internet only packets whose source
 *   is the primary address of an instance's device-0 ENI, and drops (and counts) the rest.
 *
 * Changes in the emulator are applied by a serialised sync that coalesces bursts.
 */
export class NetworkFabric {
  readonly prefix: string;
  /** The vpc namespace's name, `<prefix>vpc`. */
  readonly vpcNetns: string;
  readonly vpcHost: VpcHost;
  /** `<prefix>inet`: a host on the internet ({@link NetworkFabric.internetHost}). */
  readonly internetHost: InternetHost;
  private readonly emulator: FabricEmulator;
  private readonly hostWiring: VpcHostWiring;
  private readonly internetWiring: InternetWiring;
  private state: FabricState = EMPTY_FABRIC_STATE;
  private readonly created = new Set<string>();
  private unsubscribe: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private dirty = false;
  private failure: unknown;
  private closing: Promise<void> | undefined;

  private readonly mtu: number;

  private constructor(emulator: FabricEmulator, prefix: string, hostIp: string, routerIp: string, mtu: number, internetIp: string) {
    this.emulator = emulator;
    this.prefix = prefix;
    this.mtu = mtu;
    this.vpcNetns = `${prefix}vpc`;
    const hostNetns = `${prefix}vh`;
    this.vpcHost = { netns: hostNetns, netnsPath: `${NETNS_DIR}/${hostNetns}`, ip: hostIp };
    this.hostWiring = { hostNetns, vpcLink: 'vh', hostIp, routerIp, mtu };
    const internetNetns = `${prefix}inet`;
    this.internetHost = { netns: internetNetns, netnsPath: `${NETNS_DIR}/${internetNetns}`, ip: internetIp };
    this.internetWiring = { netns: internetNetns, hostIp: internetIp, gatewayIp: INTERNET_GATEWAY_IP, mtu };
  }

  /**
   * Builds the vpc and vpc-host namespaces, wires every instance the emulator has, and keeps
   * following the emulator's changes until {@link close}. Throws {@link FabricError}:
   * `InvalidOption`, `PrefixInUse` (namespaces with the prefix exist: another fabric runs, or
   * a crashed run left them; see {@link cleanupStale}), `ToolMissing` (ip or nft),
   * `AddressClash`, `CommandFailed`. On failure it removes what it created.
   */
  static async start(emulator: FabricEmulator, options: FabricOptions): Promise<NetworkFabric> {
    const prefix = options.prefix ?? 'nip-';
    if (!PREFIX_PATTERN.test(prefix)) {
      throw new FabricError('InvalidOption', `prefix ${JSON.stringify(prefix)} must match ${String(PREFIX_PATTERN)}`);
    }
    if (options.vpcHostIp !== undefined && !isIpv4(options.vpcHostIp)) {
      throw new FabricError('InvalidOption', `vpcHostIp ${JSON.stringify(options.vpcHostIp)} is not an IPv4 address`);
    }
    await run('ip', ['-V']);
    await run('nft', ['--version']).catch((error: unknown) => {
      throw error instanceof FabricError && error.code === 'ToolMissing'
        ? new FabricError('ToolMissing', 'nft is not installed; install the nftables package', { cause: error })
        : error;
    });
    const existing = (await listNetns()).filter((n) => n.startsWith(prefix));
    if (existing.length > 0) {
      throw new FabricError(
        'PrefixInUse',
        `network namespaces ${existing.join(', ')} already exist: another fabric uses prefix ${prefix} or a crashed run left them (NetworkFabric.cleanupStale('${prefix}') removes them)`,
      );
    }
    const topology = emulator.topology();
    const hostIp = options.vpcHostIp ?? defaultVpcHostIp(topology.networkCidr);
    const clash = findAddressClash(topology, hostIp, emulator.subnets?.().map((s) => s.cidr));
    if (clash !== undefined) throw new FabricError('AddressClash', clash);

    if (!Number.isInteger(options.mtu) || options.mtu < 576 || options.mtu > 65_535) {
      throw new FabricError('InvalidOption', `mtu ${options.mtu} must be a whole number from 576 to 65535`);
    }
    const internetIp = options.internetHostIp ?? INTERNET_HOST_IP;
    if (!isIpv4(internetIp) || internetIp === INTERNET_GATEWAY_IP || cidrContains(topology.networkCidr, internetIp)) {
      throw new FabricError('InvalidOption', `internetHostIp ${JSON.stringify(internetIp)} must be an IPv4 address outside the VPC CIDR ${topology.networkCidr}, other than ${INTERNET_GATEWAY_IP}`);
    }
    const fabric = new NetworkFabric(emulator, prefix, hostIp, vpcRouterIp(topology.networkCidr), options.mtu, internetIp);
    try {
      await fabric.buildBase();
      fabric.unsubscribe = emulator.onChange(() => {
        fabric.sync().catch(() => undefined);
      });
      await fabric.sync();
    } catch (error) {
      await fabric.close().catch(() => undefined);
      throw error;
    }
    return fabric;
  }

  /**
   * Deletes every network namespace whose name starts with `prefix` (leftovers of a crashed run)
   * and returns their names. Deleting a namespace also deletes the veths in it and their peers.
   */
  static async cleanupStale(prefix: string): Promise<string[]> {
    if (!PREFIX_PATTERN.test(prefix)) {
      throw new FabricError('InvalidOption', `prefix ${JSON.stringify(prefix)} must match ${String(PREFIX_PATTERN)}`);
    }
    const stale = (await listNetns()).filter((n) => n.startsWith(prefix));
    await deleteNetns(stale);
    return stale;
  }

  /** `/run/netns/<name>` of the instance's node. Throws `UnknownInstance` before it is wired. */
  nodeNetnsPath(instanceId: string): string {
    const node = this.state.nodes.get(instanceId);
    if (node === undefined) {
      throw new FabricError('UnknownInstance', `instance ${instanceId} has no node namespace (not launched, terminated, or not synced yet)`);
    }
    return `${NETNS_DIR}/${node.netns}`;
  }

  /** The wired nodes, in launch order. */
  nodes(): FabricNode[] {
    return [...this.state.nodes.values()]
      .sort((a, b) => a.index - b.index)
      .map((n) => ({ instanceId: n.instanceId, netns: n.netns, netnsPath: `${NETNS_DIR}/${n.netns}` }));
  }

  /**
   * Applies the emulator's current topology; resolves once it (or a later one) is wired. Calls
   * are serialised and coalesced. A failed sync leaves the fabric broken: this and every later
   * call reject with that failure. Rejects with `Closed` after {@link close}.
   */
  sync(): Promise<void> {
    if (this.closing !== undefined) return Promise.reject(new FabricError('Closed', 'the fabric is closed'));
    if (this.failure !== undefined) return Promise.reject(this.failure);
    this.dirty = true;
    this.running ??= this.drain();
    return this.running;
  }

  /** Resolves when no sync is queued or running; rejects if a sync failed. */
  whenSynced(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return this.running ?? Promise.resolve();
  }

  /** Forwarded packets the vpc namespace dropped because their source is not on their ENI. */
  async droppedPackets(): Promise<number> {
    const out = await execInNetns(this.vpcNetns, ['nft', '-j', 'list', 'counter', 'ip', NFT_TABLE, NFT_DROP_COUNTER]);
    return decodeCounterPackets(out.stdout);
  }

  /**
   * Packets to the internet the internet gateway dropped: their source is not the primary address
   * of an instance's device-0 ENI (a pod address that was not SNATed, a secondary ENI's address).
   */
  async internetDroppedPackets(): Promise<number> {
    const out = await execInNetns(this.vpcNetns, ['nft', '-j', 'list', 'counter', 'ip', NFT_TABLE, NFT_IGW_COUNTER]);
    return decodeCounterPackets(out.stdout);
  }

  /** Every source address the internet host has received a packet from, sorted. */
  async internetSources(): Promise<string[]> {
    const out = await execInNetns(this.internetHost.netns, ['nft', '-j', 'list', 'set', 'ip', NFT_INTERNET_TABLE, NFT_SEEN_SET]);
    return decodeSetElements(out.stdout).sort();
  }

  /** Stops following the emulator and deletes every namespace the fabric created. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.unsubscribe?.();
      await this.running?.catch(() => undefined);
      const nodes = [...this.created].filter((n) => n !== this.vpcNetns && n !== this.vpcHost.netns);
      await deleteNetns([...nodes, this.vpcHost.netns, this.vpcNetns].filter((n) => this.created.has(n)));
      this.created.clear();
    })();
    return this.closing;
  }

  private async drain(): Promise<void> {
    try {
      // Why: emulator listeners fire inside its mutation; read the topology once that has returned,
      // and let a burst of changes in the same turn become one sync.
      await new Promise<void>((resolve) => setImmediate(resolve));
      while (this.dirty && this.closing === undefined) {
        this.dirty = false;
        await this.syncOnce();
      }
    } catch (error) {
      this.failure = error;
      throw error;
    } finally {
      this.running = undefined;
    }
  }

  private async syncOnce(): Promise<void> {
    const topology = this.emulator.topology();
    const clash = findAddressClash(topology, this.vpcHost.ip);
    if (clash !== undefined) throw new FabricError('AddressClash', clash);
    const { ops, next } = planSync(this.state, topology, this.prefix);
    if (ops.length === 0) return;
    await this.apply(renderSyncCommands(ops, { mtu: this.mtu }));
    this.state = next;
  }

  private async addNetns(names: readonly string[], sysctls: readonly string[]): Promise<void> {
    for (const name of names) this.created.add(name);
    await ipBatch(undefined, names.map((n) => `netns add ${n}`));
    if (sysctls.length === 0) return;
    await Promise.all(names.map((n) => execInNetns(n, ['sysctl', '-q', '-w', ...sysctls])));
  }

  private async buildBase(): Promise<void> {
    await this.addNetns([this.vpcNetns], VPC_SYSCTLS);
    await this.addNetns([this.vpcHost.netns, this.internetHost.netns], []);
    const internetNft = renderInternetNft(this.internetWiring);
    await execInNetns(this.vpcNetns, ['nft', '-f', '-'], { input: renderNftRuleset() + renderVpcHostNft(this.hostWiring) + internetNft.vpc });
    await ipBatch(this.vpcNetns, [...renderVpcHostVpcSide(this.hostWiring), ...renderInternetVpcSide(this.internetWiring)]);
    await ipBatch(this.vpcHost.netns, renderVpcHostSide(this.hostWiring));
    await ipBatch(this.internetHost.netns, renderInternetSide(this.internetWiring));
    await execInNetns(this.internetHost.netns, ['nft', '-f', '-'], { input: internetNft.internet });
  }

  private async apply(commands: SyncCommands): Promise<void> {
    if (commands.nftScript !== '') await execInNetns(this.vpcNetns, ['nft', '-f', '-'], { input: commands.nftScript });
    if (commands.netnsToAdd.length > 0) await this.addNetns(commands.netnsToAdd, NODE_SYSCTLS);
    if (commands.vpcBatch.length > 0) await ipBatch(this.vpcNetns, commands.vpcBatch);
    await Promise.all([...commands.nodeBatches].map(([netns, lines]) => ipBatch(netns, lines)));
    if (commands.netnsToDelete.length > 0) {
      await deleteNetns(commands.netnsToDelete);
      for (const name of commands.netnsToDelete) this.created.delete(name);
    }
  }
}
