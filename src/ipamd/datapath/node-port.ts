/**
 * NodePort (and any DNAT on the node) to pods on secondary interfaces, as the AWS VPC CNI's
 * AWS_VPC_CNI_NODE_PORT_SUPPORT: a connection that arrives on the primary interface for the node's
 * primary address gets a connection mark; packets that pods send back on that connection get it as
 * their firewall mark, and the rule `fwmark <mark>/<mark> lookup main` (priority 1024, before every
 * pod's `from` rule) routes them by the main table, out of the primary interface they came in by.
 * Without it the pod's `from <pod> lookup <interface table>` rule sends the reply out of its own
 * interface, the reverse DNAT then gives it the node's primary address as source, and the cloud
 * drops a packet whose source is not the interface's.
 *
 * Pure rendering of the nft chain; snat.ts puts it in the node's table with the SNAT rule, and
 * host-rules.ts plans the ip rule.
 */
import { ipv4ToBytes } from '../../core/ipv4.js';

/** The chain, in table `ip nativeip`, that sets and restores the node-port mark. */
export const NODE_PORT_CHAIN = 'nodeport_mark';

export interface NodePortRules {
  /** The node's primary address: connections to it on the interface holding it are marked. */
  readonly primaryIp: string;
  /** Host-side veth prefix: packets from a pod's veth get the connection's mark back. */
  readonly podInterfacePrefix: string;
  /** The mark bit(s) (AWS_VPC_K8S_CNI_CONNMARK), from 1 to 0xffffffff. */
  readonly mark: number;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/**
 * The chain's lines (indented for the table body). Hook prerouting at the mangle priority (-150):
 * after conntrack (-200) so the connection is known, before kube-proxy's DNAT (-100) so the
 * destination is still the node's address, and before the routing decision the mark steers.
 * `fib daddr . iif type local` with the primary address: the packet arrived on the interface that
 * holds it (iptables `--dst-type LOCAL --limit-iface-in` on the primary interface), not from a pod.
 * Throws a RangeError on an invalid address, prefix or mark.
 */
export function renderNodePortChain(rules: NodePortRules): string[] {
  ipv4ToBytes(rules.primaryIp);
  if (!/^[a-z0-9]{1,4}$/.test(rules.podInterfacePrefix)) {
    throw new RangeError(`invalid pod interface prefix ${JSON.stringify(rules.podInterfacePrefix)}: 1 to 4 characters a-z 0-9`);
  }
  if (!Number.isInteger(rules.mark) || rules.mark < 1 || rules.mark > 0xffffffff) {
    throw new RangeError(`invalid connection mark ${rules.mark}: an integer from 1 to 0xffffffff`);
  }
  const mark = hex(rules.mark);
  return [
    `  chain ${NODE_PORT_CHAIN} {`,
    '    type filter hook prerouting priority mangle; policy accept;',
    `    ip daddr ${rules.primaryIp} fib daddr . iif type local ct mark set ct mark | ${mark} comment "connections to the node on its primary interface"`,
    `    iifname "${rules.podInterfacePrefix}*" ct mark & ${mark} == ${mark} meta mark set meta mark | ${mark} comment "their replies leave by the primary interface"`,
    '  }',
  ];
}
