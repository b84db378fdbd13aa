import type { SubnetRecord } from './ec2-model.js';
import { Ec2ApiError, invalidParameterValue } from './errors.js';
import { intToIpv4, parseAlignedCidr } from '../../core/ipv4.js';

/** IPv4 prefix delegation hands out /28 blocks, as on EC2. */
export const PREFIX_LENGTH = 28;
const PREFIX_SIZE = 2 ** (32 - PREFIX_LENGTH);

export function insufficientCidrBlocks(): Ec2ApiError {
  return new Ec2ApiError(
    'InsufficientCidrBlocks',
    'There are not enough free cidr blocks in the specified subnet to satisfy the request.',
  );
}

/** Takes `count` aligned free /28 blocks (lowest first), all or none. */
export function allocatePrefixes(subnet: SubnetRecord, count: number): string[] {
  const taken: number[] = [];
  for (let i = 0; i < count; i++) {
    const base = subnet.allocator.allocateBlock(PREFIX_LENGTH);
    if (base === undefined) {
      for (const b of taken) subnet.allocator.releaseBlock(b, PREFIX_LENGTH);
      throw insufficientCidrBlocks();
    }
    taken.push(base);
  }
  return taken.map((base) => `${intToIpv4(base)}/${PREFIX_LENGTH}`);
}

/** Validates prefixes asked for by name: aligned /28s in the subnet, all addresses free and not reserved. */
export function checkRequestedPrefixes(subnet: SubnetRecord, prefixes: readonly string[]): number[] {
  return prefixes.map((text) => {
    const cidr = parseAlignedCidr(text);
    if (cidr === undefined || cidr.prefixLength !== PREFIX_LENGTH) {
      throw invalidParameterValue(`Invalid IPv4 prefix: '${text}' (expected an aligned /${PREFIX_LENGTH})`);
    }
    for (let a = cidr.network; a < cidr.network + PREFIX_SIZE; a++) {
      if (!subnet.allocator.contains(a)) {
        throw invalidParameterValue(`Prefix ${text} does not fall within the subnet's address range (${subnet.allocator.cidr.text})`);
      }
      if (subnet.allocator.isReserved(a) || subnet.allocator.isUsed(a)) {
        throw new Ec2ApiError('InvalidParameterValue', `Prefix ${text} is in use or overlaps reserved addresses.`);
      }
    }
    return cidr.network;
  });
}

export function claimPrefixes(subnet: SubnetRecord, bases: readonly number[]): string[] {
  for (const base of bases) {
    for (let a = base; a < base + PREFIX_SIZE; a++) subnet.allocator.claim(a);
  }
  return bases.map((base) => `${intToIpv4(base)}/${PREFIX_LENGTH}`);
}

export function releasePrefixes(subnet: SubnetRecord, prefixes: Iterable<string>): void {
  for (const text of prefixes) {
    const cidr = parseAlignedCidr(text);
    if (cidr !== undefined) subnet.allocator.releaseBlock(cidr.network, cidr.prefixLength);
  }
}

/**
 * Fragments a subnet for tests: takes one free address in the middle of every aligned /28 that
 * is still wholly free, so no /28 can be delegated while single addresses remain. Returns the
 * addresses taken (held by nobody the API shows, like another account's reservation).
 */
export function fragment(subnet: SubnetRecord): number[] {
  const { network: base, size } = subnet.allocator.cidr;
  const held: number[] = [];
  for (let start = base; start < base + size; start += PREFIX_SIZE) {
    let free = true;
    for (let a = start; a < start + PREFIX_SIZE && free; a++) {
      if (subnet.allocator.isReserved(a) || subnet.allocator.isUsed(a)) free = false;
    }
    if (!free) continue;
    const middle = start + PREFIX_SIZE / 2;
    subnet.allocator.claim(middle);
    held.push(middle);
  }
  return held;
}
