/**
 * The network-namespace fabric for an emulated Azure VNet. Azure routes like the emulated VPC:
 * each address goes to the NIC whose IP configuration holds it, and a packet leaving a NIC with a
 * source no IP configuration of that NIC holds is dropped. So this is the shared fabric
 * (src/emulator/fabric), fed the Azure emulator's topology (VMs as instances, NICs as interfaces,
 * every IP configuration's address routed to its NIC), with Azure's 1500-byte MTU.
 */
import { NetworkFabric, type FabricEmulator, type FabricNode, type VpcHost } from '../fabric/network-fabric.js';

/** Azure VNets carry 1500-byte packets by default. */
export const AZURE_VNET_MTU = 1500;

export interface AzureFabricOptions {
  /** Namespace prefix (`<prefix>vpc` is the VNet router, `<prefix>vh` the VNet host). Default `nip-az-`. */
  readonly prefix?: string;
  /** Address of the VNet host: in the VNet, outside every subnet. Default the second-to-last of the VNet. */
  readonly vnetHostIp?: string;
  /** Link MTU. Default {@link AZURE_VNET_MTU}. */
  readonly mtu?: number;
}

export class AzureFabric {
  readonly #fabric: NetworkFabric;

  private constructor(fabric: NetworkFabric) {
    this.#fabric = fabric;
  }

  /**
   * Builds the VNet router and VNet host namespaces and one node namespace per VM (NIC N is
   * `eth<N>` with the NIC's MAC), and follows the emulator until {@link close}. Throws FabricError
   * as {@link NetworkFabric.start}.
   */
  static async start(emulator: FabricEmulator, options: AzureFabricOptions = {}): Promise<AzureFabric> {
    const fabric = await NetworkFabric.start(emulator, {
      prefix: options.prefix ?? 'nip-az-',
      mtu: options.mtu ?? AZURE_VNET_MTU,
      ...(options.vnetHostIp === undefined ? {} : { vpcHostIp: options.vnetHostIp }),
    });
    return new AzureFabric(fabric);
  }

  /** Deletes namespaces left by a crashed run with this prefix; returns their names. */
  static cleanupStale(prefix: string): Promise<string[]> {
    return NetworkFabric.cleanupStale(prefix);
  }

  get prefix(): string {
    return this.#fabric.prefix;
  }

  /** The VNet router's namespace. */
  get vnetNetns(): string {
    return this.#fabric.vpcNetns;
  }

  /** Another machine in the VNet (named like every cloud's fabric, so callers can treat them alike). */
  get vpcHost(): VpcHost {
    return this.#fabric.vpcHost;
  }

  /** `/run/netns/<name>` of the VM's node, by the VM's ARM id. */
  nodeNetnsPath(vmId: string): string {
    return this.#fabric.nodeNetnsPath(vmId);
  }

  nodes(): FabricNode[] {
    return this.#fabric.nodes();
  }

  sync(): Promise<void> {
    return this.#fabric.sync();
  }

  whenSynced(): Promise<void> {
    return this.#fabric.whenSynced();
  }

  /** Forwarded packets the VNet dropped because their source is not on the NIC they left from. */
  droppedPackets(): Promise<number> {
    return this.#fabric.droppedPackets();
  }

  close(): Promise<void> {
    return this.#fabric.close();
  }
}
