/**
 * A whole emulated cluster on one machine: the EC2 (or Azure) emulator, the network-namespace
 * fabric and one real nativeip-ipamd process per node. Used by `nativeip demo` and the e2e tests.
 * Needs root (network namespaces).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startAwsEmulator, type AwsEmulator, type AwsEmulatorOptions } from '../emulator/aws/index.js';
import { startAzureEmulator, type AzureEmulator, type AzureEmulatorOptions } from '../emulator/azure/index.js';
import { AwsFabric, AzureFabric } from '../emulator/fabric/index.js';
import { callDaemon } from '../rpc/client.js';
import type { StatusResult } from '../rpc/protocol.js';

export interface EmulatedClusterOptions {
  /** Namespace prefix, e.g. `nip-`. */
  readonly prefix: string;
  readonly nodes: number;
  readonly instanceType: string;
  /** Directory holding the built nativeip-ipamd. */
  readonly binDir: string;
  /** Sockets, checkpoints and logs go here. */
  readonly workDir: string;
  /** Extra daemon environment (WARM_IP_TARGET, …). */
  readonly daemonEnv?: Readonly<Record<string, string>>;
  readonly emulator?: AwsEmulatorOptions;
}

export interface ClusterNode {
  readonly name: string;
  readonly instanceId: string;
  readonly netnsPath: string;
  readonly socketPath: string;
  readonly checkpointPath: string;
  readonly logFile: string;
  readonly env: Readonly<Record<string, string>>;
  process: ChildProcess | undefined;
}

/** An emulated Azure cluster: VMs (each with `nicsPerVm` NICs) in one VNet. */
export interface AzureClusterOptions {
  /** Namespace prefix, e.g. `nip-az-`. */
  readonly prefix: string;
  readonly nodes: number;
  /** NICs per VM, the primary included. Default 1. */
  readonly nicsPerVm?: number;
  readonly binDir: string;
  readonly workDir: string;
  readonly daemonEnv?: Readonly<Record<string, string>>;
  readonly emulator?: AzureEmulatorOptions;
}

/** What the cluster needs of an emulator and a fabric: that they can be closed. */
interface Closable {
  close(): Promise<void>;
}

export class EmulatedCluster<E extends Closable = AwsEmulator, F extends Closable = AwsFabric> {
  readonly emulator: E;
  readonly fabric: F;
  readonly nodes: readonly ClusterNode[];
  readonly #options: { readonly binDir: string };

  private constructor(options: { readonly binDir: string }, emulator: E, fabric: F, nodes: ClusterNode[]) {
    this.#options = options;
    this.emulator = emulator;
    this.fabric = fabric;
    this.nodes = nodes;
  }

  /** The cluster once its daemons answer; a daemon that does not start fails the whole start. */
  static async #startDaemons<E2 extends Closable, F2 extends Closable>(
    options: { readonly binDir: string },
    emulator: E2,
    fabric: F2,
    nodes: ClusterNode[],
  ): Promise<EmulatedCluster<E2, F2>> {
    const cluster = new EmulatedCluster(options, emulator, fabric, nodes);
    await Promise.all(nodes.map((n) => cluster.startDaemon(n)));
    return cluster;
  }

  /** Starts the emulator and fabric, launches the instances and starts a daemon on each. */
  static async start(options: EmulatedClusterOptions): Promise<EmulatedCluster> {
    await AwsFabric.cleanupStale(options.prefix);
    await mkdir(options.workDir, { recursive: true, mode: 0o700 });
    const emulator = await startAwsEmulator({ host: '127.0.0.1', port: 0, ...options.emulator });
    let fabric: AwsFabric | undefined;
    try {
      fabric = await AwsFabric.start(emulator, { prefix: options.prefix });
      const nodes: ClusterNode[] = [];
      for (let i = 1; i <= options.nodes; i += 1) {
        const launched = await emulator.launchInstance({ instanceType: options.instanceType });
        await fabric.whenSynced();
        const name = `node${i}`;
        const paths = await nodePaths(options.workDir, name, fabric.nodeNetnsPath(launched.instanceId));
        const env = daemonEnvironment(emulator, launched.imdsUrl, paths, options.daemonEnv ?? {});
        const node: ClusterNode = { name, instanceId: launched.instanceId, ...paths, env, process: undefined };
        nodes.push(node);
      }
      return await EmulatedCluster.#startDaemons(options, emulator, fabric, nodes);
    } catch (error) {
      await closeQuietly(fabric, emulator);
      throw error;
    }
  }

  /**
   * Starts the Azure emulator (ARM over https with its own certificate, one IMDS per VM) and the
   * fabric, creates the VMs and starts a daemon on each. The daemons run with NATIVEIP_CLOUD unset
   * (auto): they find Azure by asking both metadata services, which both point at the VM's IMDS.
   */
  static async startAzure(options: AzureClusterOptions): Promise<EmulatedCluster<AzureEmulator, AzureFabric>> {
    await AzureFabric.cleanupStale(options.prefix);
    await mkdir(options.workDir, { recursive: true, mode: 0o700 });
    const emulator = await startAzureEmulator({ host: '127.0.0.1', port: 0, ...options.emulator });
    let fabric: AzureFabric | undefined;
    try {
      const caBundle = join(options.workDir, 'arm-ca.pem');
      await writeFile(caBundle, emulator.caCert, { mode: 0o644 });
      fabric = await AzureFabric.start(emulator, { prefix: options.prefix });
      const nodes: ClusterNode[] = [];
      for (let i = 1; i <= options.nodes; i += 1) {
        const vm = await emulator.createVm({ name: `node${i}`, nics: options.nicsPerVm ?? 1 });
        await fabric.whenSynced();
        const paths = await nodePaths(options.workDir, `node${i}`, fabric.nodeNetnsPath(vm.vmId));
        const env = {
          ...nodeDaemonEnvironment(paths),
          NATIVEIP_AZURE_ARM_ENDPOINT: emulator.armUrl,
          NATIVEIP_AZURE_ARM_CA_BUNDLE: caBundle,
          NATIVEIP_AZURE_IMDS_ENDPOINT: vm.imdsUrl,
          // Why: NATIVEIP_CLOUD=auto probes AWS's IMDS too; keep that probe on loopback.
          AWS_EC2_METADATA_SERVICE_ENDPOINT: vm.imdsUrl,
          ...options.daemonEnv,
        };
        nodes.push({ name: `node${i}`, instanceId: vm.vmId, ...paths, env, process: undefined });
      }
      return await EmulatedCluster.#startDaemons(options, emulator, fabric, nodes);
    } catch (error) {
      await closeQuietly(fabric, emulator);
      throw error;
    }
  }

  /**
   * Starts the node's daemon and waits until it answers STATUS. `env` adds to (or overrides) the
   * node's daemon environment for this run only.
   */
  async startDaemon(node: ClusterNode, options: { readonly env?: Readonly<Record<string, string>> } = {}): Promise<void> {
    const env = { ...node.env, ...options.env };
    const child = spawn(join(this.#options.binDir, 'nativeip-ipamd'), [], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    node.process = child;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) {
        throw new Error(`nativeip-ipamd on ${node.name} exited with ${child.exitCode}: ${stderr.trim()}\n${await this.logTail(node)}`);
      }
      try {
        await callDaemon(node.socketPath, 'status', {}, { timeoutMs: 2_000 });
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`nativeip-ipamd on ${node.name} did not answer within 60 s\n${await this.logTail(node)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** Stops the node's daemon: SIGTERM (clean) or SIGKILL (a crash). */
  async stopDaemon(node: ClusterNode, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = node.process;
    node.process = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }

  status(node: ClusterNode): Promise<StatusResult> {
    return callDaemon(node.socketPath, 'status', {}, { timeoutMs: 5_000 });
  }

  /** Waits until the node's pool has at least `available` free addresses. */
  async waitForPool(node: ClusterNode, available: number, timeoutMs = 30_000): Promise<StatusResult> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.status(node);
      if (status.pool.available >= available) return status;
      if (Date.now() > deadline) throw new Error(`${node.name}: pool has ${status.pool.available} available after ${timeoutMs} ms, wanted ${available}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async logTail(node: ClusterNode, lines = 30): Promise<string> {
    try {
      return (await readFile(node.logFile, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no daemon log)';
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.stopDaemon(n)));
    await this.fabric.close();
    await this.emulator.close();
  }
}

type NodePaths = Pick<ClusterNode, 'netnsPath' | 'socketPath' | 'checkpointPath' | 'logFile'>;

/** A node's own directory (socket, checkpoint, log) under the work directory. */
async function nodePaths(workDir: string, name: string, netnsPath: string): Promise<NodePaths> {
  const dir = join(workDir, name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return { netnsPath, socketPath: join(dir, 'ipamd.sock'), checkpointPath: join(dir, 'checkpoint.json'), logFile: join(dir, 'ipamd.log') };
}

/** The daemon variables that place one emulated node's daemon, whatever the cloud. */
function nodeDaemonEnvironment(node: NodePaths): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    NATIVEIP_SOCKET: node.socketPath,
    NATIVEIP_CHECKPOINT: node.checkpointPath,
    NATIVEIP_HOST_NETNS: node.netnsPath,
    NATIVEIP_LOG_FILE: node.logFile,
    NATIVEIP_LOG_LEVEL: 'debug',
  };
}

function daemonEnvironment(emulator: AwsEmulator, imdsUrl: string, node: NodePaths, extra: Readonly<Record<string, string>>): Record<string, string> {
  return {
    ...nodeDaemonEnvironment(node),
    AWS_ENDPOINT_URL_EC2: emulator.ec2Url,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: imdsUrl,
    AWS_REGION: emulator.region,
    AWS_ACCESS_KEY_ID: 'emulated',
    AWS_SECRET_ACCESS_KEY: 'emulated',
    CLUSTER_NAME: 'nativeip-demo',
    NATIVEIP_CLOUD: 'aws',
    ...extra,
  };
}

/** Closes what a failed start left running, fabric first (it reads the emulator), ignoring errors. */
async function closeQuietly(fabric: Closable | undefined, emulator: Closable): Promise<void> {
  await fabric?.close().catch(() => undefined);
  await emulator.close().catch(() => undefined);
}
