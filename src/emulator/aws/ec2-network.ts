import { AddressAllocator } from '../shared/address-allocator.js';
import type { SubnetRecord } from './ec2-model.js';
import { Ec2ApiError, invalidParameterValue } from './errors.js';
import type { IdSource } from '../shared/ids.js';
import { ID_PATTERNS } from './ids.js';
import type { Cidr } from '../../core/ipv4.js';
import { cidrHolds, cidrsOverlap, parseAlignedCidr } from '../../core/ipv4.js';

export interface Ec2NetworkOptions {
  readonly region: string;
  readonly accountId: string;
  readonly vpcCidr: string;
  readonly subnets: readonly { readonly id?: string | undefined; readonly cidr: string; readonly az?: string | undefined }[];
}

/** VPC sizes AWS accepts for a VPC or a subnet: /16 to /28. */
const MIN_PREFIX = 16;
const MAX_PREFIX = 28;

/** The emulated VPC: its CIDR, subnets, default security group and id helpers. */
export class Ec2Network {
  readonly region: string;
  readonly accountId: string;
  readonly vpcId: string;
  readonly vpcCidr: Cidr;
  readonly defaultSecurityGroupId: string;
  protected readonly vpcTags = new Map<string, string>();
  private readonly subnetMap = new Map<string, SubnetRecord>();
  private readonly idSource: IdSource;

  constructor(options: Ec2NetworkOptions, ids: IdSource) {
    this.idSource = ids;
    this.region = options.region;
    this.accountId = options.accountId;
    this.vpcCidr = requireCidr(options.vpcCidr, 'VPC CIDR');
    checkPrefix(this.vpcCidr, 'VPC');
    this.vpcId = `vpc-${ids.hex(17)}`;
    this.defaultSecurityGroupId = `sg-${ids.hex(17)}`;
    if (options.subnets.length === 0) throw invalidParameterValue('At least one subnet is required');
    for (const spec of options.subnets) this.addSubnet(spec);
  }

  subnetRecords(): SubnetRecord[] {
    return [...this.subnetMap.values()];
  }

  subnet(id: string): SubnetRecord {
    if (!ID_PATTERNS.subnet.test(id)) throw new Ec2ApiError('InvalidSubnetID.Malformed', `Invalid id: "${id}" (expecting "subnet-...")`);
    const subnet = this.subnetMap.get(id);
    if (subnet === undefined) throw new Ec2ApiError('InvalidSubnetID.NotFound', `The subnet ID '${id}' does not exist`);
    return subnet;
  }

  protected defaultSubnet(): SubnetRecord {
    const first = this.subnetMap.values().next();
    if (first.done === true) throw invalidParameterValue('The VPC has no subnets');
    return first.value;
  }

  /** Security group ids for a new or modified interface; the VPC default when none are given. */
  protected groups(ids: readonly string[] | undefined): string[] {
    if (ids === undefined || ids.length === 0) return [this.defaultSecurityGroupId];
    for (const id of ids) {
      if (!/^sg-[0-9a-f]{8,17}$/.test(id)) throw new Ec2ApiError('InvalidGroupId.Malformed', `Invalid id: "${id}" (expecting "sg-...")`);
    }
    return [...new Set(ids)];
  }

  protected uniqueId(prefix: string, taken: (id: string) => boolean): string {
    let id = `${prefix}${this.idSource.hex(17)}`;
    while (taken(id)) id = `${prefix}${this.idSource.hex(17)}`;
    return id;
  }

  private addSubnet(spec: Ec2NetworkOptions['subnets'][number]): void {
    const cidr = requireCidr(spec.cidr, 'Subnet CIDR');
    checkPrefix(cidr, 'subnet');
    if (!cidrHolds(this.vpcCidr, cidr.network) || !cidrHolds(this.vpcCidr, cidr.network + cidr.size - 1)) {
      throw new Ec2ApiError('InvalidSubnet.Range', `The CIDR '${cidr.text}' is invalid for VPC CIDR ${this.vpcCidr.text}.`);
    }
    for (const other of this.subnetMap.values()) {
      if (cidrsOverlap(other.allocator.cidr, cidr)) {
        throw new Ec2ApiError('InvalidSubnet.Conflict', `The CIDR '${cidr.text}' conflicts with another subnet`);
      }
    }
    const id = spec.id ?? `subnet-${this.idSource.hex(17)}`;
    if (!ID_PATTERNS.subnet.test(id)) throw new Ec2ApiError('InvalidSubnetID.Malformed', `Invalid id: "${id}" (expecting "subnet-...")`);
    if (this.subnetMap.has(id)) throw new Ec2ApiError('InvalidSubnet.Conflict', `Subnet id ${id} is given twice`);
    const az = spec.az ?? `${this.region}a`;
    this.subnetMap.set(id, {
      id,
      vpcId: this.vpcId,
      az,
      azId: `${shortRegion(this.region)}-az${az.charCodeAt(az.length - 1) - 96}`,
      allocator: new AddressAllocator(cidr),
      tags: new Map(),
    });
  }
}

function requireCidr(text: string, what: string): Cidr {
  const cidr = parseAlignedCidr(text);
  if (cidr === undefined) {
    throw new Ec2ApiError('InvalidParameterValue', `${what} '${text}' is not a valid aligned IPv4 CIDR block`);
  }
  return cidr;
}

function checkPrefix(cidr: Cidr, what: string): void {
  if (cidr.prefixLength < MIN_PREFIX || cidr.prefixLength > MAX_PREFIX) {
    throw new Ec2ApiError(
      'InvalidSubnet.Range',
      `The ${what} CIDR '${cidr.text}' is invalid: the block size must be between /${MIN_PREFIX} and /${MAX_PREFIX}.`,
    );
  }
}

/** `us-east-1` → `use1`, the prefix of EC2 zone ids such as `use1-az1`. */
function shortRegion(region: string): string {
  const [area = '', direction = '', number = ''] = region.split('-');
  return `${area}${direction.charAt(0)}${number}`;
}
