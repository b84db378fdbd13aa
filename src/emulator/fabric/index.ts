export { AzureFabric, AZURE_VNET_MTU, type AzureFabricOptions } from './azure-fabric.js';
export { AwsFabric, type AwsFabricOptions, type FabricEmulator, type FabricNode, type InternetHost, type VpcHost } from './aws-fabric.js';
export { FabricError, type FabricErrorCode } from './errors.js';
export type { FabricTopology, FabricTopologyInterface } from './fabric-plan.js';
export {
  execInNetns,
  netnsCommand,
  ping,
  tcpConnect,
  tcpEcho,
  type ExecOutput,
  type PingOptions,
  type ProbeResult,
  type RunOptions,
  type TcpConnectOptions,
  type TcpEchoOptions,
  type TcpEchoServer,
} from './netns-exec.js';
