/**
 * The pod's allocation as the host veth's alias (IFLA_IFALIAS) records it: the kernel keeps it as
 * long as the pod's network exists, so a lost or damaged checkpoint can be rebuilt from it (the
 * address from the pod's `/32` route, the interface from the pool, the rest from here). Pure.
 *
 * `nativeip1 <network> <container id> <interface> <netns path>`, one space between fields. The
 * kernel keeps at most 255 bytes; an allocation that does not fit, or a field holding whitespace,
 * gets no alias (its address is then held from the route alone, as before aliases).
 */
import type { CheckpointAllocation } from '../checkpoint/checkpoint.js';

const TAG = 'nativeip1';
/** IFALIASZ (256) less the terminating NUL. */
export const MAX_ALIAS_BYTES = 255;

export type AliasedAllocation = Pick<CheckpointAllocation, 'networkName' | 'containerId' | 'ifName' | 'netns'>;

export function encodeVethAlias(allocation: AliasedAllocation): string | undefined {
  const fields = [allocation.networkName, allocation.containerId, allocation.ifName, allocation.netns];
  if (fields.some((f) => f === '' || /\s/.test(f))) return undefined;
  const alias = [TAG, ...fields].join(' ');
  return Buffer.byteLength(alias) <= MAX_ALIAS_BYTES ? alias : undefined;
}

/** The allocation an alias names; undefined for any other alias (someone else's, an older format). */
export function decodeVethAlias(alias: string | undefined): AliasedAllocation | undefined {
  const parts = alias?.split(' ');
  if (parts?.length !== 5 || parts[0] !== TAG || parts.some((p) => p === '')) return undefined;
  const [, networkName, containerId, ifName, netns] = parts as [string, string, string, string, string];
  if (!netns.startsWith('/')) return undefined;
  return { networkName, containerId, ifName, netns };
}
