/**
 * A whole emulated cluster on one machine: a cloud's emulator, the network-namespace fabric and
 * one real nativeip-ipamd process per node. Used by `nativeip demo` and the e2e tests. Needs root
 * (network namespaces). Which cloud is the recipe's: each emulator folder has one
 * (`src/emulator/<cloud>/cluster.ts`); this file names no cloud.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { callDaemon } from '../rpc/client.js';
import type { StatusResult } from '../rpc/protocol.js';
import type { CloudUnderTest } from './cloud-under-test.js';
import { sleep } from '../core/sleep.js';
import { freeLoopbackPort } from './free-port.js';

/** What every emulated cluster takes, whatever the cloud. */
export interface ClusterOptions {
  /** Namespace prefix, e.g. `nip-`. */
  readonly prefix: string;
  readonly nodes: number;
  /** Directory holding the built nativeip-ipamd. */
  readonly binDir: string;
  /** Sockets, checkpoints and logs go here. */
  readonly workDir: string;
  /** Extra daemon environment (WARM_IP_TARGET, …). */
  readonly daemonEnv?: Readonly<Record<string, string>>;
  /** False: the nodes come up without a daemon (start each with startDaemon). Default true. */
  readonly startDaemons?: boolean;
}

export interface ClusterNode {
  readonly name: string;
  readonly instanceId: string;
  readonly netnsPath: string;
  readonly socketPath: string;
  readonly checkpointPath: string;
  readonly logFile: string;
  /** Where the node's daemon serves /metrics (loopback, a port of its own). */
  readonly metricsAddress: string;
  /** Where the node's daemon serves the introspection API (loopback, a port of its own). */
  readonly introspectionAddress: string;
  readonly env: Readonly<Record<string, string>>;
  process: ChildProcess | undefined;
}

/** What the cluster needs of an emulator and a fabric: that they can be closed. */
export interface Closable {
  close(): Promise<void>;
}

/** One emulated node as its cloud's recipe made it: the instance and its daemon's cloud variables. */
export interface RecipeNode {
  readonly instanceId: string;
  /** The network namespace that is the instance. */
  readonly netnsPath: string;
  /** The daemon variables that point it at the emulated cloud. */
  readonly cloudEnv: Readonly<Record<string, string>>;
}

/** How a cloud's emulator folder starts an emulated cluster (see EmulatedCluster.launch). */
export interface ClusterRecipe<E extends Closable, F extends Closable> {
  /** Removes namespaces an earlier run with this prefix left. */
  cleanupStale(prefix: string): Promise<void>;
  startEmulator(): Promise<E>;
  startFabric(emulator: E, prefix: string): Promise<F>;
  /** Creates node `index` (1-based) and waits until the fabric has it. */
  addNode(emulator: E, fabric: F, index: number, workDir: string): Promise<RecipeNode>;
  /** The started emulator as checks read and fail it (the crash campaign's). */
  cloudUnderTest(emulator: E): CloudUnderTest;
}

export class EmulatedCluster<E extends Closable, F extends Closable> {
  readonly emulator: E;
  readonly fabric: F;
  readonly nodes: readonly ClusterNode[];
  /** The emulator as the recipe lets checks read and fail it, whatever the cloud. */
  readonly cloud: CloudUnderTest;
  readonly #options: { readonly binDir: string };

  private constructor(options: { readonly binDir: string }, emulator: E, fabric: F, nodes: ClusterNode[], cloud: CloudUnderTest) {
    this.#options = options;
    this.emulator = emulator;
    this.fabric = fabric;
    this.nodes = nodes;
    this.cloud = cloud;
  }

  /** The cluster once its daemons answer; a daemon that does not start fails the whole start. */
  static async #startDaemons<E2 extends Closable, F2 extends Closable>(
    options: { readonly binDir: string; readonly startDaemons?: boolean },
    emulator: E2,
    fabric: F2,
    nodes: ClusterNode[],
    cloud: CloudUnderTest,
  ): Promise<EmulatedCluster<E2, F2>> {
    const cluster = new EmulatedCluster(options, emulator, fabric, nodes, cloud);
    if (options.startDaemons !== false) await Promise.all(nodes.map((n) => cluster.startDaemon(n)));
    return cluster;
  }

  /** Starts the cloud's emulator and fabric (the recipe's), its nodes, and a daemon on each. */
  static async launch<E2 extends Closable, F2 extends Closable>(recipe: ClusterRecipe<E2, F2>, options: ClusterOptions): Promise<EmulatedCluster<E2, F2>> {
    await recipe.cleanupStale(options.prefix);
    await mkdir(options.workDir, { recursive: true, mode: 0o700 });
    const emulator = await recipe.startEmulator();
    let fabric: F2 | undefined;
    try {
      fabric = await recipe.startFabric(emulator, options.prefix);
      const nodes: ClusterNode[] = [];
      for (let i = 1; i <= options.nodes; i += 1) {
        const made = await recipe.addNode(emulator, fabric, i, options.workDir);
        const name = `node${i}`;
        const paths = await nodePaths(options.workDir, name, made.netnsPath);
        const env = { ...nodeDaemonEnvironment(paths), ...made.cloudEnv, ...options.daemonEnv };
        nodes.push({ name, instanceId: made.instanceId, ...paths, env, process: undefined });
      }
      return await EmulatedCluster.#startDaemons(options, emulator, fabric, nodes, recipe.cloudUnderTest(emulator));
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
        await sleep(100);
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
      await sleep(100);
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

type NodePaths = Pick<ClusterNode, 'netnsPath' | 'socketPath' | 'checkpointPath' | 'logFile' | 'metricsAddress' | 'introspectionAddress'>;

/**
 * A node's own directory (socket, checkpoint, log) under the work directory, and loopback ports of
 * its own for metrics and introspection: the daemons share the machine's namespace, where a real
 * node's would each have 61678 and 61679.
 */
async function nodePaths(workDir: string, name: string, netnsPath: string): Promise<NodePaths> {
  const dir = join(workDir, name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return {
    netnsPath,
    socketPath: join(dir, 'ipamd.sock'),
    checkpointPath: join(dir, 'checkpoint.json'),
    logFile: join(dir, 'ipamd.log'),
    metricsAddress: `127.0.0.1:${await freeLoopbackPort()}`,
    introspectionAddress: `127.0.0.1:${await freeLoopbackPort()}`,
  };
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
    NATIVEIP_METRICS_ADDRESS: node.metricsAddress,
    INTROSPECTION_BIND_ADDRESS: node.introspectionAddress,
  };
}

/** Closes what a failed start left running, fabric first (it reads the emulator), ignoring errors. */
async function closeQuietly(fabric: Closable | undefined, emulator: Closable): Promise<void> {
  await fabric?.close().catch(() => undefined);
  await emulator.close().catch(() => undefined);
}
