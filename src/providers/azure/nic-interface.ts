/**
 * A NIC as the pool sees it: the cloud-neutral {@link CloudInterface} the provider reports for
 * one NIC read from ARM. Pure; shared by the provider and the churn simulator.
 */
import { CloudError, type CloudInterface } from '../../core/types.js';
import { MAX_IP_CONFIGS_PER_NIC, isOurConfigName, ourAddresses, primaryConfig, type IpConfigView } from './ip-configs.js';

/** What of a NIC the view needs. */
export interface NicFacts {
  readonly id: string;
  /** Lower case, colon separated. */
  readonly mac: string | undefined;
  readonly configs: readonly IpConfigView[];
}

/**
 * Address slots the pool may use on the NIC in total: Azure's 256 configurations less every one
 * that is not a usable one of ours (the primary, configurations someone else added, ours still
 * being provisioned). The room left is then exactly what one more PUT may add.
 */
export function nicCapacity(configs: readonly IpConfigView[]): number {
  return Math.max(0, MAX_IP_CONFIGS_PER_NIC - configs.length + ourAddresses(configs).length);
}

/**
 * Addresses of configurations someone else added (not the primary, not named as ours): IMDS lists
 * them with the others, so the reconciler must expect them there.
 */
export function foreignAddresses(configs: readonly IpConfigView[]): string[] {
  const primary = primaryConfig(configs);
  return configs.filter((c) => c !== primary && !c.primary && !isOurConfigName(c.name) && c.address !== undefined).map((c) => c.address as string);
}

/**
 * The NIC at `deviceIndex` (its position in the VM, primary first), with our configurations'
 * addresses as its secondary addresses and the foreign ones as its other addresses. Undefined when
 * it is not usable yet: no primary address, subnet or MAC, or no subnet range known (IMDS has not
 * listed it).
 */
export function nicInterface(nic: NicFacts, deviceIndex: number, subnetCidr: string | undefined): CloudInterface | undefined {
  const primary = primaryConfig(nic.configs);
  if (primary?.address === undefined || primary.subnetId === undefined || nic.mac === undefined || subnetCidr === undefined) return undefined;
  const others = foreignAddresses(nic.configs);
  return {
    id: nic.id,
    mac: nic.mac,
    deviceIndex,
    subnetId: primary.subnetId,
    subnetCidr,
    primaryIp: primary.address,
    secondaryIps: ourAddresses(nic.configs),
    ...(others.length === 0 ? {} : { otherIps: others }),
    managed: false,
    pooled: true,
    capacity: nicCapacity(nic.configs),
  };
}

/** What creating an interface answers on Azure: nativeip never attaches NICs there. */
export function noNicCreation(): CloudError {
  return new CloudError(
    'InterfaceLimit',
    'nativeip does not attach NICs on Azure; every NIC of the VM holds its 256 IP configurations (attach another NIC to the VM, or use a larger subnet and fewer pods)',
  );
}

/** What deleting an interface answers on Azure: nativeip never deletes NICs there. */
export function noNicDeletion(interfaceId: string): CloudError {
  return new CloudError('InvalidRequest', `refusing to delete ${interfaceId}: nativeip does not delete NICs on Azure`);
}
