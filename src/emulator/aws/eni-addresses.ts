import type { EniRecord, SubnetRecord } from './ec2-model.js';
import { Ec2ApiError, insufficientAddresses, invalidParameterValue, ipLimitExceeded } from './errors.js';
import { intToIpv4, tryIpv4ToInt } from '../../core/ipv4.js';
import type { PrivateIpSpecification } from './query-params.js';

export function ipNumber(text: string): number {
  const n = tryIpv4ToInt(text);
  if (n === undefined) throw invalidParameterValue(`Invalid IPv4 address: '${text}'`);
  return n;
}

/**
 * Validates addresses asked for by name in `subnet`. Returns, for addresses held elsewhere as
 * secondaries, the interface to take each from (only when reassignment is allowed). Throws when
 * one is outside the subnet, reserved, or in use and not movable.
 */
export function checkRequestedAddresses(
  subnet: SubnetRecord,
  addresses: readonly string[],
  allowReassignment: boolean,
  holderOf: (address: string) => EniRecord | undefined,
): Map<string, EniRecord> {
  const moves = new Map<string, EniRecord>();
  for (const address of addresses) {
    const n = ipNumber(address);
    if (!subnet.allocator.contains(n)) {
      throw invalidParameterValue(`Address ${address} does not fall within the subnet's address range (${subnet.allocator.cidr.text})`);
    }
    if (subnet.allocator.isReserved(n)) throw invalidParameterValue(`Address ${address} is reserved by AWS in subnet ${subnet.id}`);
    if (!subnet.allocator.isUsed(n)) continue;
    const holder = holderOf(address);
    if (!allowReassignment || holder === undefined || holder.primaryIp === address) {
      throw new Ec2ApiError('InvalidIPAddress.InUse', `Address ${address} is in use.`);
    }
    moves.set(address, holder);
  }
  return moves;
}

export function claimAddresses(subnet: SubnetRecord, addresses: readonly string[]): string[] {
  for (const a of addresses) subnet.allocator.claim(ipNumber(a));
  return [...addresses];
}

export function allocateAddresses(subnet: SubnetRecord, count: number): string[] {
  const got = subnet.allocator.allocate(count);
  if (got === undefined) throw insufficientAddresses();
  return got.map(intToIpv4);
}

export function releaseAddresses(subnet: SubnetRecord, addresses: Iterable<string>): void {
  for (const a of addresses) subnet.allocator.release(ipNumber(a));
}

export interface NewEniAddressRequest {
  readonly secondaryCount?: number | undefined;
  readonly privateIp?: string | undefined;
  readonly privateIpSpecs?: readonly PrivateIpSpecification[] | undefined;
}

/** Picks and takes the addresses of a new interface: named ones first, then lowest free. */
export function takeNewEniAddresses(
  subnet: SubnetRecord,
  req: NewEniAddressRequest,
  limit: number,
  holderOf: (address: string) => EniRecord | undefined,
): { primaryIp: string; secondaryIps: string[] } {
  const specs = req.privateIpSpecs ?? [];
  const primaries = [...new Set([req.privateIp, ...specs.filter((s) => s.primary).map((s) => s.address)])].filter(
    (a): a is string => a !== undefined,
  );
  if (primaries.length > 1) {
    throw new Ec2ApiError('InvalidParameterCombination', `Only one primary private IP address can be specified, got ${primaries.join(', ')}`);
  }
  const explicit = [...new Set([...primaries, ...specs.filter((s) => !s.primary).map((s) => s.address)])];
  const autoCount = (req.secondaryCount ?? 0) + (primaries.length === 0 ? 1 : 0);
  if (explicit.length + autoCount > limit) throw ipLimitExceeded();
  checkRequestedAddresses(subnet, explicit, false, holderOf);
  if (autoCount > subnet.allocator.freeCount - explicit.length) throw insufficientAddresses();
  const claimed = claimAddresses(subnet, explicit);
  const allocated = allocateAddresses(subnet, autoCount);
  const [primaryIp, ...secondaryIps] = primaries.length === 0 ? [...allocated, ...claimed] : [...claimed, ...allocated];
  if (primaryIp === undefined) throw insufficientAddresses();
  return { primaryIp, secondaryIps };
}
