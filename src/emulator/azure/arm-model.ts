/** The emulated Azure resources: plain records the state machine owns. */
import type { AddressAllocator } from '../shared/address-allocator.js';

export interface SubnetRecord {
  readonly id: string;
  readonly name: string;
  readonly cidr: string;
  readonly allocator: AddressAllocator;
}

export interface IpConfigRecord {
  readonly name: string;
  readonly primary: boolean;
  readonly address: string;
  readonly subnetId: string;
  readonly allocation: 'Dynamic' | 'Static';
  provisioningState: 'Succeeded' | 'Updating';
}

export interface NicRecord {
  readonly id: string;
  readonly name: string;
  /** `00-0D-3A-…`, as ARM shows it. */
  readonly mac: string;
  readonly vmId: string;
  /** The VM's primary NIC. */
  readonly primary: boolean;
  etag: string;
  /** What IMDS, the fabric and a finished operation see. */
  configs: IpConfigRecord[];
  /** While an operation runs: the list ARM answers on GET (the goal state). */
  pending: IpConfigRecord[] | undefined;
  /** Id of the operation in flight on this NIC. */
  operationId: string | undefined;
}

export type ScaleSetMode = 'Uniform' | 'Flexible';

export interface VmRecord {
  /** ARM id: `…/virtualMachines/{name}` or `…/virtualMachineScaleSets/{ss}/virtualMachines/{n}`. */
  readonly id: string;
  readonly name: string;
  readonly vmSize: string;
  readonly vmId: string;
  readonly nicIds: readonly string[];
  readonly scaleSet: { readonly name: string; readonly mode: ScaleSetMode; readonly instanceId: string } | undefined;
  /** ETag of a Uniform instance's model. */
  etag: string;
}

export type OperationStatus = 'InProgress' | 'Succeeded' | 'Failed';

export interface OperationRecord {
  readonly id: string;
  readonly nicId: string;
  /** The resource the PUT went to (the NIC, or the scale-set instance). */
  readonly target: string;
  readonly completesAt: number;
  status: OperationStatus;
  readonly fail: { readonly code: string; readonly message: string } | undefined;
  error: { readonly code: string; readonly message: string } | undefined;
}

/** One desired configuration in a PUT body. */
export interface DesiredConfig {
  readonly name: string;
  readonly primary: boolean;
  readonly subnetId: string | undefined;
  readonly allocation: 'Dynamic' | 'Static';
  readonly address: string | undefined;
}
