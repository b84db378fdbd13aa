export { NetworkFabric, type FabricOptions, type FabricEmulator, type FabricNode, type InternetHost, type VpcHost } from './network-fabric.js';
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
