/**
 * Assigning and unassigning an interface's secondary addresses and /28 prefixes, with EC2's
 * parameter rules, slot limits and errors. Pure apart from the records it changes.
 */
import type { EniRecord, SubnetRecord } from './ec2-model.js';
import { Ec2ApiError, insufficientAddresses, invalidParameterValue, ipLimitExceeded, missingParameter } from './errors.js';
import { allocateAddresses, checkRequestedAddresses, claimAddresses, releaseAddresses } from './eni-addresses.js';
import { allocatePrefixes, checkRequestedPrefixes, claimPrefixes, releasePrefixes } from './eni-prefixes.js';

export interface AssignRequest {
  readonly eniId: string;
  readonly count?: number | undefined;
  readonly addresses?: readonly string[] | undefined;
  readonly allowReassignment?: boolean | undefined;
  readonly ipv4PrefixCount?: number | undefined;
  readonly ipv4Prefixes?: readonly string[] | undefined;
}

/** What assignment needs of the account. */
export interface EniRegistry {
  /** The interface with this id; throws EC2's malformed / not-found errors. */
  eni(id: string): EniRecord;
  subnet(id: string): SubnetRecord;
  /** Address slots the interface may use: its instance type's limit, or the unattached limit. */
  ipLimit(eni: EniRecord): number;
  /** The interface holding the address as primary or secondary, if any. */
  holderOf(address: string): EniRecord | undefined;
}

/** Address slots an interface uses: its primary, each secondary, and one per prefix. */
export function slotsUsed(eni: EniRecord): number {
  return 1 + eni.secondaryIps.length + eni.prefixes.length;
}

/** AssignPrivateIpAddresses for secondary addresses (by count or by name). Returns those assigned. */
export function assignSecondaryAddresses(registry: EniRegistry, req: AssignRequest): string[] {
  if (req.ipv4PrefixCount !== undefined || (req.ipv4Prefixes?.length ?? 0) > 0) {
    throw invalidParameterValue('this request delegates prefixes: use assignIpv4Prefixes');
  }
  const eni = registry.eni(req.eniId);
  const explicit = [...new Set(req.addresses ?? [])].filter((a) => a !== eni.primaryIp && !eni.secondaryIps.includes(a));
  if (req.count !== undefined && (req.addresses?.length ?? 0) > 0) {
    throw new Ec2ApiError(
      'InvalidParameterCombination',
      'PrivateIpAddress and SecondaryPrivateIpAddressCount cannot be specified together',
    );
  }
  if (req.count === undefined && (req.addresses?.length ?? 0) === 0) {
    throw missingParameter('PrivateIpAddress or SecondaryPrivateIpAddressCount');
  }
  const count = req.count ?? 0;
  if (req.count !== undefined && count < 1) {
    throw invalidParameterValue(`Value (${count}) for parameter SecondaryPrivateIpAddressCount is invalid. Expected at least 1.`);
  }
  if (slotsUsed(eni) + explicit.length + count > registry.ipLimit(eni)) throw ipLimitExceeded();
  const subnet = registry.subnet(eni.subnetId);
  const moves = checkRequestedAddresses(subnet, explicit, req.allowReassignment === true, (a) => registry.holderOf(a));
  if (count > subnet.allocator.freeCount) throw insufficientAddresses();
  for (const [address, from] of moves) {
    from.secondaryIps = from.secondaryIps.filter((a) => a !== address);
    releaseAddresses(subnet, [address]);
  }
  const assigned = [...claimAddresses(subnet, explicit), ...allocateAddresses(subnet, count)];
  eni.secondaryIps.push(...assigned);
  return assigned;
}

/** AssignPrivateIpAddresses with Ipv4PrefixCount or Ipv4Prefix.N: delegates /28 prefixes. Returns those assigned. */
export function assignPrefixes(registry: EniRegistry, req: AssignRequest): string[] {
  const eni = registry.eni(req.eniId);
  if (req.count !== undefined || (req.addresses?.length ?? 0) > 0) {
    throw new Ec2ApiError(
      'InvalidParameterCombination',
      'Ipv4Prefixes or Ipv4PrefixCount cannot be specified with PrivateIpAddress or SecondaryPrivateIpAddressCount',
    );
  }
  const named = [...new Set(req.ipv4Prefixes ?? [])];
  if (req.ipv4PrefixCount !== undefined && named.length > 0) {
    throw new Ec2ApiError('InvalidParameterCombination', 'Ipv4Prefixes and Ipv4PrefixCount cannot be specified together');
  }
  const count = req.ipv4PrefixCount ?? named.length;
  if (count < 1) {
    throw invalidParameterValue(`Value (${count}) for parameter Ipv4PrefixCount is invalid. Expected at least 1.`);
  }
  if (slotsUsed(eni) + count > registry.ipLimit(eni)) throw ipLimitExceeded();
  const subnet = registry.subnet(eni.subnetId);
  const bases = checkRequestedPrefixes(subnet, named);
  const prefixes = named.length > 0 ? claimPrefixes(subnet, bases) : allocatePrefixes(subnet, count);
  eni.prefixes.push(...prefixes);
  return prefixes;
}

/** UnassignPrivateIpAddresses: secondaries and prefixes the interface holds, all or none. */
export function unassign(registry: EniRegistry, eniId: string, addresses: readonly string[], prefixes: readonly string[]): void {
  const eni = registry.eni(eniId);
  if (addresses.length === 0 && prefixes.length === 0) throw missingParameter('PrivateIpAddress');
  if (prefixes.length > 0) {
    const unknown = prefixes.filter((p) => !eni.prefixes.includes(p));
    if (unknown.length > 0) {
      throw invalidParameterValue(`Some of the specified prefixes are not assigned to interface ${eni.id}: ${unknown.join(', ')}`);
    }
  }
  if (addresses.includes(eni.primaryIp)) {
    throw invalidParameterValue(`The primary private IP address ${eni.primaryIp} of ${eni.id} cannot be unassigned.`);
  }
  const missing = addresses.filter((a) => !eni.secondaryIps.includes(a));
  if (missing.length > 0) {
    throw invalidParameterValue(`Some of the specified addresses are not assigned to interface ${eni.id}: ${missing.join(', ')}`);
  }
  const subnet = registry.subnet(eni.subnetId);
  eni.secondaryIps = eni.secondaryIps.filter((a) => !addresses.includes(a));
  releaseAddresses(subnet, new Set(addresses));
  eni.prefixes = eni.prefixes.filter((p) => !prefixes.includes(p));
  releasePrefixes(subnet, prefixes);
}
