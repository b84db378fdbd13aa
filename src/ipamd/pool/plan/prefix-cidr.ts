/**
 * The pool's unit in prefix mode (ENABLE_PREFIX_DELEGATION): an IPv4 /28, 16 addresses, every one
 * usable by a pod. A policy of the pool, not a fact of one cloud: a cloud whose plugin offers
 * prefix mode delegates blocks of this size (EC2 delegates exactly /28s). Pure.
 */
import { intToIpv4, ipv4ToInt, parseCidr } from '../../../core/ipv4.js';

/** Addresses in one delegated IPv4 prefix (/28), all of them usable by pods. */
export const ADDRESSES_PER_PREFIX = 16;
export const PREFIX_LENGTH = 28;

/** The 16 addresses of a /28, lowest first. Throws RangeError for anything but an aligned /28. */
export function prefixAddresses(prefix: string): string[] {
  const { network, prefixLength } = parseCidr(prefix);
  const [address] = prefix.split('/');
  if (prefixLength !== PREFIX_LENGTH || address === undefined || ipv4ToInt(address) !== network) {
    throw new RangeError(`not an aligned /${PREFIX_LENGTH} prefix: ${JSON.stringify(prefix)}`);
  }
  return Array.from({ length: ADDRESSES_PER_PREFIX }, (_, i) => intToIpv4(network + i));
}

/** Prefixes needed to hold `addresses` addresses. */
export function prefixesFor(addresses: number): number {
  return addresses <= 0 ? 0 : Math.ceil(addresses / ADDRESSES_PER_PREFIX);
}
