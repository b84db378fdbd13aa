/**
 * Pure rendering of fabric operations into iproute2 batch files and nft scripts. No I/O: the
 * fabric runs what this returns, in the order of {@link SyncCommands}' fields.
 */
import type { FabricOp } from './fabric-plan.js';

/** nftables table, in the vpc namespace, holding the VPC's source check. */
export const NFT_TABLE = 'nativeip_fabric';
/** Set of allowed `iifname . ip saddr` pairs: each ENI's link with each address it holds. */
export const NFT_SOURCE_SET = 'eni_sources';
/**
 * Set of allowed `iifname . ip saddr` intervals: each ENI's link with each /28 prefix delegated to
 * it, so any address inside the prefix passes from that link and from no other.
 */
export const NFT_PREFIX_SET = 'eni_prefixes';
/** Named counter of forwarded packets dropped by the source check. */
export const NFT_DROP_COUNTER = 'dropped';
/**
 * Sources the internet gateway forwards: the primary address of each instance's device-0 ENI,
 * the address an IGW maps a public IP to (the emulated instances all have one).
 */
export const NFT_IGW_SET = 'igw_sources';
/** Named counter of packets to the internet the gateway dropped: their source has no public IP. */
export const NFT_IGW_COUNTER = 'igw_dropped';
/** Link, in the vpc namespace, towards the internet namespace. */
export const INTERNET_LINK = 'inet';

/** The vpc namespace: a router that forwards, checks nothing on the reverse path, proxies ARP. */
export const VPC_SYSCTLS: readonly string[] = [
  'net.ipv4.ip_forward=1',
  'net.ipv4.conf.all.rp_filter=0',
  'net.ipv4.conf.default.rp_filter=0',
  'net.ipv4.conf.all.proxy_arp=1',
  'net.ipv4.conf.all.send_redirects=0',
  'net.ipv4.conf.default.send_redirects=0',
];

/** A node namespace: forwarding with loose reverse-path filtering, like a Kubernetes node. */
export const NODE_SYSCTLS: readonly string[] = [
  'net.ipv4.ip_forward=1',
  'net.ipv4.conf.all.rp_filter=2',
  'net.ipv4.conf.default.rp_filter=2',
];

/** Everything one sync runs, in execution order. Empty parts are skipped. */
export interface SyncCommands {
  /** nft script (for the vpc namespace) updating the source-check set; '' when unchanged. */
  readonly nftScript: string;
  /** Node namespaces to create, then configure with {@link NODE_SYSCTLS}. */
  readonly netnsToAdd: readonly string[];
  /** `ip -batch` lines for the vpc namespace: links, gateway addresses, routes, neighbours. */
  readonly vpcBatch: readonly string[];
  /** `ip -batch` lines per node namespace: loopback and the primary ENI's boot configuration. */
  readonly nodeBatches: ReadonlyMap<string, readonly string[]>;
  /** Node namespaces to delete, after their vpc-side links are gone. */
  readonly netnsToDelete: readonly string[];
}

/**
 * Why: proxy ARP replies wait a random time up to proxy_delay (0.8 s by default), which would slow
 * every first packet between nodes. The default has no sysctl outside the initial namespace, so it
 * is set per link.
 */
function noProxyDelay(link: string): string {
  return `ntable change name arp_cache dev ${link} proxy_delay 0`;
}

function element(link: string, address: string): string {
  return `"${link}" . ${address}`;
}

function renderNft(ops: readonly FabricOp[]): string {
  const remove: string[] = [];
  const add: string[] = [];
  const removePrefixes: string[] = [];
  const addPrefixes: string[] = [];
  const unpublish: string[] = [];
  const publish: string[] = [];
  for (const op of ops) {
    if (op.kind === 'remove-interface') remove.push(...op.addresses.map((a) => element(op.vpcLink, a)));
    if (op.kind === 'remove-interface' && op.prefixes !== undefined) removePrefixes.push(...op.prefixes.map((p) => element(op.vpcLink, p)));
    if (op.kind === 'remove-interface' && op.publicSource !== undefined) unpublish.push(op.publicSource);
    if (op.kind === 'add-interface' && op.primary !== undefined) publish.push(op.primary.address);
    if (op.kind === 'remove-address') remove.push(element(op.vpcLink, op.address));
    if (op.kind === 'add-address') add.push(element(op.vpcLink, op.address));
    if (op.kind === 'remove-prefix') removePrefixes.push(element(op.vpcLink, op.prefix));
    if (op.kind === 'add-prefix') addPrefixes.push(element(op.vpcLink, op.prefix));
  }
  const lines: string[] = [];
  if (remove.length > 0) lines.push(`delete element ip ${NFT_TABLE} ${NFT_SOURCE_SET} { ${remove.join(', ')} }`);
  if (removePrefixes.length > 0) lines.push(`delete element ip ${NFT_TABLE} ${NFT_PREFIX_SET} { ${removePrefixes.join(', ')} }`);
  if (unpublish.length > 0) lines.push(`delete element ip ${NFT_TABLE} ${NFT_IGW_SET} { ${unpublish.join(', ')} }`);
  if (add.length > 0) lines.push(`add element ip ${NFT_TABLE} ${NFT_SOURCE_SET} { ${add.join(', ')} }`);
  if (addPrefixes.length > 0) lines.push(`add element ip ${NFT_TABLE} ${NFT_PREFIX_SET} { ${addPrefixes.join(', ')} }`);
  if (publish.length > 0) lines.push(`add element ip ${NFT_TABLE} ${NFT_IGW_SET} { ${publish.join(', ')} }`);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/**
 * Renders the operations of one sync (as returned by `planSync`) into command batches. `mtu` is
 * the emulated network's link MTU (the cloud's: its emulator folder's fabric wiring says).
 */
export function renderSyncCommands(ops: readonly FabricOp[], options: { readonly mtu: number }): SyncCommands {
  const { mtu } = options;
  const netnsToAdd: string[] = [];
  const netnsToDelete: string[] = [];
  const vpcBatch: string[] = [];
  const nodeBatches = new Map<string, string[]>();
  const nodeBatch = (netns: string): string[] => {
    let batch = nodeBatches.get(netns);
    if (batch === undefined) {
      batch = [];
      nodeBatches.set(netns, batch);
    }
    return batch;
  };

  for (const op of ops) {
    switch (op.kind) {
      case 'add-node':
        netnsToAdd.push(op.netns);
        nodeBatch(op.netns).push('link set lo up');
        break;
      case 'remove-node':
        netnsToDelete.push(op.netns);
        break;
      case 'remove-address':
        vpcBatch.push(`neigh del ${op.address} dev ${op.vpcLink}`, `route del ${op.address}/32 dev ${op.vpcLink}`);
        break;
      case 'remove-interface':
        vpcBatch.push(`link del ${op.vpcLink}`);
        break;
      case 'add-interface':
        vpcBatch.push(
          `link add ${op.vpcLink} mtu ${mtu} type veth peer name ${op.nodeLink} mtu ${mtu} address ${op.mac} netns ${op.netns}`,
          `link set ${op.vpcLink} up`,
          `addr add ${op.gateway}/32 dev ${op.vpcLink}`,
          noProxyDelay(op.vpcLink),
        );
        if (op.primary !== undefined) {
          nodeBatch(op.netns).push(
            `addr add ${op.primary.address}/${op.primary.prefixLength} dev ${op.nodeLink}`,
            `link set ${op.nodeLink} up`,
            `route add default via ${op.primary.gateway} dev ${op.nodeLink}`,
          );
        }
        break;
      case 'add-address':
        vpcBatch.push(
          `route replace ${op.address}/32 dev ${op.vpcLink}`,
          `neigh replace ${op.address} lladdr ${op.mac} dev ${op.vpcLink} nud permanent`,
        );
        break;
      case 'remove-prefix':
        vpcBatch.push(`route del ${op.prefix} dev ${op.vpcLink}`);
        break;
      case 'add-prefix':
        // Why via the primary address: its permanent neighbour entry carries the ENI's MAC, so the
        // whole block reaches the ENI without an ARP answer from the node for each pod address.
        vpcBatch.push(`route replace ${op.prefix} via ${op.via} dev ${op.vpcLink} onlink`);
        break;
    }
  }
  return { nftScript: renderNft(ops), netnsToAdd, vpcBatch, nodeBatches, netnsToDelete };
}

/**
 * The vpc namespace's nft ruleset: allow listed `iifname . saddr` pairs and addresses inside a
 * prefix delegated to the arriving ENI, count and drop the rest;
 * then, as the internet gateway, forward to the internet link only packets whose source has a
 * public IP ({@link NFT_IGW_SET}), counting and dropping the rest. An accept in the first chain
 * still passes through the second (nftables runs every base chain of a hook).
 */
export function renderNftRuleset(): string {
  return [
    `table ip ${NFT_TABLE} {`,
    `  set ${NFT_SOURCE_SET} { type ifname . ipv4_addr; }`,
    `  set ${NFT_PREFIX_SET} { type ifname . ipv4_addr; flags interval; }`,
    `  set ${NFT_IGW_SET} { type ipv4_addr; }`,
    `  counter ${NFT_DROP_COUNTER} {}`,
    `  counter ${NFT_IGW_COUNTER} {}`,
    '  chain src_check {',
    '    type filter hook forward priority 0; policy accept;',
    `    iifname . ip saddr @${NFT_SOURCE_SET} accept`,
    `    iifname . ip saddr @${NFT_PREFIX_SET} accept`,
    `    counter name "${NFT_DROP_COUNTER}" drop`,
    '  }',
    '  chain igw {',
    '    type filter hook forward priority 10; policy accept;',
    `    oifname "${INTERNET_LINK}" ip saddr != @${NFT_IGW_SET} counter name "${NFT_IGW_COUNTER}" drop`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Names and addresses of the vpc-host link. */
export interface VpcHostWiring {
  readonly hostNetns: string;
  /** Link name of the veth end in the vpc namespace. */
  readonly vpcLink: string;
  readonly hostIp: string;
  /** The VPC router address the host uses as next hop, held by the vpc-side end. */
  readonly routerIp: string;
  /** Link MTU (the cloud's). */
  readonly mtu: number;
}

/**
 * `ip -batch` lines for the vpc namespace's end of a veth to a host namespace: the link, the
 * next-hop address the host routes through, and the route to the host's /32.
 */
function renderRouterEnd(link: string, peerNetns: string, mtu: number, nextHopIp: string, hostIp: string): string[] {
  return [
    `link add ${link} mtu ${mtu} type veth peer name eth0 mtu ${mtu} netns ${peerNetns}`,
    `link set ${link} up`,
    `addr add ${nextHopIp}/32 dev ${link}`,
    noProxyDelay(link),
    `route replace ${hostIp}/32 dev ${link}`,
  ];
}

/** `ip -batch` lines for a host namespace behind one veth (`eth0`) with a default route via `nextHopIp`. */
function renderHostEnd(hostIp: string, nextHopIp: string): string[] {
  return [
    'link set lo up',
    `addr add ${hostIp}/32 dev eth0`,
    'link set eth0 up',
    `route add ${nextHopIp}/32 dev eth0 scope link`,
    `route add default via ${nextHopIp} dev eth0`,
  ];
}

/** `ip -batch` lines for the vpc namespace that wire the vpc-host. */
export function renderVpcHostVpcSide(host: VpcHostWiring): string[] {
  return ['link set lo up', ...renderRouterEnd(host.vpcLink, host.hostNetns, host.mtu, host.routerIp, host.hostIp)];
}

/** `ip -batch` lines for the vpc-host namespace. */
export function renderVpcHostSide(host: VpcHostWiring): string[] {
  return renderHostEnd(host.hostIp, host.routerIp);
}

/** nft script allowing the vpc-host's own address as a source from its link. */
export function renderVpcHostNft(host: VpcHostWiring): string {
  return `add element ip ${NFT_TABLE} ${NFT_SOURCE_SET} { ${element(host.vpcLink, host.hostIp)} }\n`;
}

/** Names and addresses of the internet host's link (outside the VPC, behind the internet gateway). */
export interface InternetWiring {
  readonly netns: string;
  /** The internet host's address, in a documentation range (203.0.113.0/24). */
  readonly hostIp: string;
  /** The gateway's address on the vpc-side end, the internet host's next hop. */
  readonly gatewayIp: string;
  /** Link MTU (the cloud's). */
  readonly mtu: number;
}

/** `ip -batch` lines for the vpc namespace that wire the internet host. */
export function renderInternetVpcSide(inet: InternetWiring): string[] {
  return renderRouterEnd(INTERNET_LINK, inet.netns, inet.mtu, inet.gatewayIp, inet.hostIp);
}

/** `ip -batch` lines for the internet namespace. */
export function renderInternetSide(inet: InternetWiring): string[] {
  return renderHostEnd(inet.hostIp, inet.gatewayIp);
}

/** Table, in the internet namespace, recording the sources it receives packets from. */
export const NFT_INTERNET_TABLE = 'nativeip_internet';
/** Dynamic set of every source address the internet host has received a packet from. */
export const NFT_SEEN_SET = 'seen';

/**
 * nft scripts for the internet side: its replies may enter the VPC (source-check entry), and the
 * internet host records each source address it hears from, as a server's logs would.
 */
export function renderInternetNft(inet: InternetWiring): { readonly vpc: string; readonly internet: string } {
  return {
    vpc: `add element ip ${NFT_TABLE} ${NFT_SOURCE_SET} { ${element(INTERNET_LINK, inet.hostIp)} }\n`,
    internet: [
      `table ip ${NFT_INTERNET_TABLE} {`,
      `  set ${NFT_SEEN_SET} { type ipv4_addr; flags dynamic; size 65535; }`,
      '  chain input {',
      '    type filter hook input priority 0; policy accept;',
      `    add @${NFT_SEEN_SET} { ip saddr }`,
      '  }',
      '}',
      '',
    ].join('\n'),
  };
}
