/**
 * The network-namespace fabric for an emulated VPC: the shared fabric (src/emulator/fabric), fed the
 * EC2 emulator's topology (running instances, their attached ENIs with every secondary address and
 * delegated prefix), with EC2's jumbo-frame MTU.
 */
import type { FabricTopology } from '../fabric/fabric-plan.js';
import { NetworkFabric, type FabricEmulator } from '../fabric/network-fabric.js';
import type { AwsEmulator } from './index.js';

/** EC2 carries 9001-byte frames within a VPC. */
export const VPC_MTU = 9001;

export interface Ec2FabricOptions {
  /** Namespace prefix (`<prefix>vpc` is the VPC router, `<prefix>vh` the VPC host). Default `nip-`. */
  readonly prefix?: string;
  /** Address of the VPC host: in the VPC, outside every subnet. Default the second-to-last of the VPC. */
  readonly vpcHostIp?: string;
  /** The internet host's address, outside the VPC. */
  readonly internetHostIp?: string;
  /** Link MTU. Default {@link VPC_MTU}. */
  readonly mtu?: number;
}

/** The emulator as the fabric reads it. */
export function ec2FabricView(emulator: AwsEmulator): FabricEmulator {
  return {
    topology: (): FabricTopology => {
      const topology = emulator.topology();
      return {
        networkCidr: topology.vpcCidr,
        instances: topology.instances.map((instance) => ({
          instanceId: instance.instanceId,
          interfaces: instance.interfaces.map((eni) => ({
            interfaceId: eni.eniId,
            mac: eni.mac,
            deviceIndex: eni.deviceIndex,
            subnetCidr: eni.subnetCidr,
            gateway: eni.gateway,
            primaryIp: eni.primaryIp,
            secondaryIps: eni.secondaryIps,
            prefixes: eni.prefixes,
          })),
        })),
      };
    },
    onChange: (listener) => emulator.onChange(listener),
    subnets: () => emulator.subnets(),
  };
}

/** Builds the VPC's namespaces and follows the emulator (see NetworkFabric.start). */
export function startEc2Fabric(emulator: AwsEmulator, options: Ec2FabricOptions = {}): Promise<NetworkFabric> {
  return NetworkFabric.start(ec2FabricView(emulator), {
    mtu: options.mtu ?? VPC_MTU,
    ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
    ...(options.vpcHostIp === undefined ? {} : { vpcHostIp: options.vpcHostIp }),
    ...(options.internetHostIp === undefined ? {} : { internetHostIp: options.internetHostIp }),
  });
}
