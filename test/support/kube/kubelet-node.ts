/**
 * A real Kubernetes node for tests: containerd v2.2.9 and kubelet v1.35.4 registered with a
 * {@link LocalControlPlane}, everything under one temporary directory.
 *
 *   const node = new KubeletNode({ controlPlane, nodeName: 'node-1', cniBinDir, cniConfDir });
 *   await node.start();                      // containerd, the pause image, kubelet, Node object
 *   await node.importImage(busyboxTar);      // docker-archive from ./image.ts
 *   await node.waitForNodeReady();           // needs a CNI config in cniConfDir
 *   await node.stop();                       // always: puts the host back as it was
 *
 * The host is shared, so start() records and stop() restores what a kubelet and its pods
 * change outside the directory: the sysctls kubelet and ptp set, iptables KUBE-*
 * chains, the node address on `lo`, the cgroup subtree, mounts, and the few host paths kubelet
 * and containerd create whatever their configuration (/var/lib/kubelet/device-plugins,
 * /var/log/containers, /run/containerd/s).
 */
import { existsSync, readdirSync, readlinkSync, rmSync, unlinkSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeBinary, kubeBinDir } from './binaries.js';
import type { LocalControlPlane } from './control-plane.js';
import {
  cgroupProcs,
  createCgroupRoot,
  kubeIptablesState,
  nftTables,
  readSysctls,
  removeCgroupRoot,
  killProcessesMentioning,
  removeCniResults,
  removeNewEmptyIptablesTables,
  restoreKubeIptables,
  restoreSysctls,
  unmountUnder,
} from './host-state.js';
import { makePauseRootfs, writeImageArchive } from './image.js';
import { freePort, ManagedProcess, runCommand, sleep, tailFile } from './process.js';

export const PAUSE_IMAGE = 'nativeip.local/pause:1';

export interface KubeletNodeOptions {
  /** A started control plane; its CA signs the node's client and serving certificates. */
  readonly controlPlane: LocalControlPlane;
  /** The Node name (kubelet --hostname-override; user system:node:<name>). */
  readonly nodeName: string;
  /**
   * The node's InternalIP. kubelet refuses a loopback one, so the address is added to `lo` as a
   * /32 when missing (and removed in stop()). It should be in 198.18.0.0/15, the benchmarking
   * range, which nothing here routes anywhere. Default 198.18.0.1.
   */
  readonly nodeIp?: string;
  /** Directory of the CNI plugins containerd runs (also needs `loopback`). */
  readonly cniBinDir: string;
  /** Directory containerd watches for the CNI network config; the node is Ready once one is there. */
  readonly cniConfDir: string;
  /** Where the temporary directory is made; default the OS temp dir. */
  readonly baseDir?: string;
  /** Directory of the binaries; default {@link kubeBinDir}. */
  readonly binDir?: string;
  /** Keep the temporary directory (logs) after stop(), for debugging. Default false. */
  readonly keepDir?: boolean;
  /**
   * Where containerd mounts pods' network namespaces: under its own state directory (default),
   * or in /var/run/netns as containerd does on a real node (a CNI daemon in a pod finds them
   * there through its /var/run/netns mount).
   */
  readonly podNetnsDir?: 'state' | 'host';
  /**
   * How long start() waits for a KubeletNode of another process on this host to stop (one node
   * per host: /run/nativeip-kubelet-node.lock). Default 180 s.
   */
  readonly hostLockTimeoutMs?: number;
}

/** What stop() found changed on the host and put back. */
export interface HostCleanup {
  readonly tasksKilled: readonly string[];
  /** Processes (containerd shims) still running with the node's directory in their command line. */
  readonly shimsKilled: readonly number[];
  readonly sysctlsRestored: readonly string[];
  readonly iptablesRemoved: readonly string[];
  readonly unmounted: readonly string[];
  readonly cgroupsRemoved: readonly string[];
  readonly pathsRemoved: readonly string[];
}

/** Host paths kubelet or containerd create whatever their configuration; removed if they did. */
const HOST_PATHS = ['/var/lib/kubelet', '/var/log/containers', '/var/log/pods', '/run/containerd'] as const;
const START_TIMEOUT_MS = 60_000;

/**
 * One KubeletNode per host, across processes (two test runs at once would record each other's
 * changes as the host's): a lock file holding the owner's pid, taken over when that pid is gone.
 */
const HOST_LOCK = '/run/nativeip-kubelet-node.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Takes the host lock; false when this process holds it already (then the caller must not release it). */
async function acquireHostLock(owner: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await writeFile(HOST_LOCK, `${process.pid} ${owner}\n`, { flag: 'wx' });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number((await readFile(HOST_LOCK, 'utf8').catch(() => '')).split(' ')[0]);
    if (holder === process.pid) return false;
    if (!Number.isInteger(holder) || holder <= 0 || !alive(holder)) {
      await rm(HOST_LOCK, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`KubeletNode ${owner}: another node (pid ${holder}) still holds ${HOST_LOCK} after ${timeoutMs / 1000} s`);
    await sleep(500);
  }
}

/**
 * Takes the host's KubeletNode lock for this process before any node starts, so that a test can
 * record the host's state knowing no other process's node is changing it; nodes started by this
 * process while it is held use it. Returns the release function.
 */
export async function lockKubeletHost(owner: string, timeoutMs = 180_000): Promise<() => Promise<void>> {
  const acquired = await acquireHostLock(owner, timeoutMs);
  return async () => {
    if (acquired) await rm(HOST_LOCK, { force: true });
  };
}

/** containerd + kubelet as one Kubernetes node. Not reusable after stop(). */
export class KubeletNode {
  /** The node started in this process and not yet stopped. */
  private static running: string | undefined;
  readonly nodeName: string;
  readonly nodeIp: string;
  /** The temporary directory (containerd root/state, kubelet root, configs, `*.log`); set by start(). */
  dir = '';
  private readonly binDir: string;
  private containerd: ManagedProcess | undefined;
  private kubelet: ManagedProcess | undefined;
  private readonly cgroupRoot: string;
  private addedNodeIp = false;
  private sysctlsBefore: Map<string, string> | undefined;
  private iptablesBefore: string[] | undefined;
  private nftTablesBefore: string[] | undefined;
  private readonly hostPathsBefore = new Map<string, boolean>();
  private stopped = false;
  private holdsHostLock = false;

  constructor(private readonly options: KubeletNodeOptions) {
    this.nodeName = options.nodeName;
    this.nodeIp = options.nodeIp ?? '198.18.0.1';
    // kubelet's validateNodeIP (pkg/kubelet/kubelet_node_status.go) rejects these in every node
    // status update: the Node gets no addresses, so logs and exec have nowhere to go.
    if (/^(127\.|0\.0\.0\.0$|::1?$|169\.254\.)/.test(this.nodeIp)) {
      throw new Error(`KubeletNode: nodeIp ${this.nodeIp} is loopback, unspecified or link-local, which kubelet refuses; use an address of 198.18.0.0/15`);
    }
    this.binDir = options.binDir ?? kubeBinDir();
    this.cgroupRoot = `nativeip-kubelet-${options.nodeName}`;
  }

  /** containerd's socket. */
  get containerdSocket(): string {
    return join(this.dir, 'containerd', 'containerd.sock');
  }

  /** The kubelet's --root-dir. */
  get kubeletRootDir(): string {
    return join(this.dir, 'kubelet');
  }

  /**
   * Records the host state, starts containerd, imports the pause image, starts kubelet and waits
   * until its Node object exists. On failure everything is stopped and restored, and the error
   * carries the failing process's log tail.
   */
  async start(): Promise<void> {
    if (this.dir !== '' || this.stopped) throw new Error('KubeletNode.start() called twice or after stop()');
    if (KubeletNode.running !== undefined) throw new Error(`KubeletNode ${KubeletNode.running} is running: one node per host at a time`);
    const binaries = {
      containerd: kubeBinary('containerd', this.binDir),
      kubelet: kubeBinary('kubelet', this.binDir),
      pause: kubeBinary('pause', this.binDir),
    };
    kubeBinary('containerd-shim-runc-v2', this.binDir);
    kubeBinary('ctr', this.binDir);
    KubeletNode.running = this.nodeName;
    try {
      this.holdsHostLock = await acquireHostLock(this.nodeName, this.options.hostLockTimeoutMs ?? 180_000);
      this.sysctlsBefore = readSysctls();
      this.iptablesBefore = await kubeIptablesState();
      this.nftTablesBefore = await nftTables();
      for (const path of HOST_PATHS) this.hostPathsBefore.set(path, existsSync(path));
      this.dir = await mkdtemp(join(this.options.baseDir ?? tmpdir(), `nativeip-node-${this.nodeName}-`));
      await this.startAll(binaries);
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  private async startAll(binaries: { containerd: string; kubelet: string; pause: string }): Promise<void> {
    const addresses = await runCommand('ip', ['-o', '-4', 'addr', 'show', 'dev', 'lo']);
    if (!addresses.includes(` ${this.nodeIp}/`)) {
      await runCommand('ip', ['addr', 'add', `${this.nodeIp}/32`, 'dev', 'lo']);
      this.addedNodeIp = true;
    }
    createCgroupRoot(this.cgroupRoot);

    const containerdDir = join(this.dir, 'containerd');
    await mkdir(containerdDir, { recursive: true });
    const containerdConfig = join(this.dir, 'containerd.toml');
    await writeFile(containerdConfig, this.containerdConfig(containerdDir));
    this.containerd = new ManagedProcess({
      name: 'containerd',
      command: binaries.containerd,
      args: ['--config', containerdConfig],
      logPath: join(this.dir, 'containerd.log'),
      // The shim is found on PATH: ours first (Debian's containerd package has an older one).
      env: { ...process.env, PATH: `${this.binDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` },
    });
    this.containerd.start();
    await this.containerd.waitUntil('serving', async () => {
      await this.ctr(['version'], 'default');
      return true;
    }, START_TIMEOUT_MS);

    const pauseRootfs = join(this.dir, 'pause-rootfs');
    await makePauseRootfs(pauseRootfs, binaries.pause);
    const pauseTar = join(this.dir, 'pause.tar');
    await writeImageArchive({ name: PAUSE_IMAGE, rootfs: pauseRootfs, entrypoint: ['/pause'] }, pauseTar);
    await this.importImage(pauseTar);
    await rm(pauseRootfs, { recursive: true, force: true });

    const cp = this.options.controlPlane;
    const clientCert = await cp.issueClientCert(`node-${this.nodeName}`, `system:node:${this.nodeName}`, ['system:nodes']);
    const pki = cp.pki;
    if (pki === undefined) throw new Error('the control plane is not started');
    const serving = await pki.issue({ name: `kubelet-${this.nodeName}`, commonName: `system:node:${this.nodeName}`, organizations: ['system:nodes'], ipAddresses: [this.nodeIp], dnsNames: [this.nodeName] });
    const kubeconfig = join(this.dir, 'kubelet.kubeconfig');
    await cp.writeKubeconfig(kubeconfig, clientCert);
    const [port, healthzPort] = [await freePort(), await freePort()];
    const kubeletConfig = join(this.dir, 'kubelet-config.json');
    await writeFile(
      kubeletConfig,
      JSON.stringify(
        {
          apiVersion: 'kubelet.config.k8s.io/v1beta1',
          kind: 'KubeletConfiguration',
          address: this.nodeIp,
          port,
          readOnlyPort: 0,
          healthzBindAddress: '127.0.0.1',
          healthzPort,
          tlsCertFile: serving.certPath,
          tlsPrivateKeyFile: serving.keyPath,
          authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: cp.caPath } },
          authorization: { mode: 'Webhook' },
          containerRuntimeEndpoint: `unix://${this.containerdSocket}`,
          cgroupDriver: 'cgroupfs',
          cgroupRoot: `/${this.cgroupRoot}`,
          // This machine's cgroups are v1 (hybrid); 1.35 refuses v1 unless told otherwise.
          failCgroupV1: false,
          failSwapOn: false,
          podLogsDir: join(this.dir, 'pod-logs'),
          volumePluginDir: join(this.dir, 'volume-plugins'),
          clusterDomain: 'cluster.local',
          resolvConf: '/etc/resolv.conf',
          rotateCertificates: false,
          serverTLSBootstrap: false,
          nodeStatusUpdateFrequency: '2s',
          evictionHard: { 'memory.available': '50Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
          imageGCHighThresholdPercent: 100,
          imageGCLowThresholdPercent: 99,
          maxPods: 110,
        },
        null,
        2,
      ),
    );
    this.kubelet = new ManagedProcess({
      name: 'kubelet',
      command: binaries.kubelet,
      args: [
        `--config=${kubeletConfig}`,
        `--kubeconfig=${kubeconfig}`,
        `--root-dir=${this.kubeletRootDir}`,
        `--cert-dir=${join(this.kubeletRootDir, 'pki')}`,
        `--node-ip=${this.nodeIp}`,
        `--hostname-override=${this.nodeName}`,
        '--v=2',
      ],
      logPath: join(this.dir, 'kubelet.log'),
      env: { ...process.env, PATH: `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` },
    });
    this.kubelet.start();
    await this.kubelet.waitUntil('healthy', async () => (await fetch(`http://127.0.0.1:${healthzPort}/healthz`, { signal: AbortSignal.timeout(1000) })).ok, START_TIMEOUT_MS);
    await this.kubelet.waitUntil('registered (Node object)', async () => {
      await cp.kubectl(['get', 'node', this.nodeName, '-o', 'name']);
      return true;
    }, START_TIMEOUT_MS, 500);
  }

  private containerdConfig(dir: string): string {
    const q = (value: string): string => JSON.stringify(value);
    return `version = 3
root = ${q(join(dir, 'root'))}
state = ${q(join(dir, 'state'))}

[grpc]
  address = ${q(this.containerdSocket)}

[debug]
  level = "info"

[plugins]
  [plugins.'io.containerd.internal.v1.opt']
    path = ${q(join(dir, 'opt'))}
  [plugins.'io.containerd.nri.v1.nri']
    disable = true
  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = "overlayfs"
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = ${q(PAUSE_IMAGE)}
  [plugins.'io.containerd.cri.v1.runtime']
    # Without CAP_SYS_RESOURCE (this machine) every sandbox fails otherwise.
    restrict_oom_score_adj = true
    # Pod network namespaces under the state directory, or /var/run/netns as on a real node.
    netns_mounts_under_state_dir = ${this.options.podNetnsDir === 'host' ? 'false' : 'true'}
    enable_cdi = false
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = "runc"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = "runc"
          # runc's state under ours, not /run/containerd/runc.
          Root = ${q(join(dir, 'state', 'runc'))}
          SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = [${q(this.options.cniBinDir)}]
      conf_dir = ${q(this.options.cniConfDir)}
      max_conf_num = 1
`;
  }

  /** The last `lines` lines of the kubelet's or containerd's log (for a failing test's report). */
  logTail(process: 'kubelet' | 'containerd', lines = 40): string {
    return this.dir === '' ? '' : tailFile(join(this.dir, `${process}.log`), lines);
  }

  /** Runs `ctr` against this node's containerd (namespace k8s.io unless given); returns stdout. */
  ctr(args: readonly string[], namespace = 'k8s.io'): Promise<string> {
    return runCommand(kubeBinary('ctr', this.binDir), ['--address', this.containerdSocket, '--namespace', namespace, ...args]);
  }

  /** Imports a docker-archive or OCI tarball into containerd's k8s.io namespace (what the kubelet sees). */
  async importImage(tarPath: string): Promise<void> {
    await this.ctr(['images', 'import', '--no-unpack=false', tarPath]);
  }

  /** Waits until the Node's Ready condition is True; throws with the kubelet's log tail otherwise. */
  async waitForNodeReady(timeoutMs = 60_000): Promise<void> {
    const kubelet = this.kubelet;
    if (kubelet === undefined) throw new Error('KubeletNode is not started');
    await kubelet.waitUntil('Ready', async () => {
      const node = await this.options.controlPlane.kubectlJson<{ status?: { conditions?: { type: string; status: string }[] } }>(['get', 'node', this.nodeName]);
      return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
    }, timeoutMs, 500);
  }

  /**
   * Stops kubelet, kills whatever containers are still running (without the kubelet their CNI
   * DEL never runs; their network namespaces, and with them the ptp veths, go when unmounted),
   * stops containerd and kills its leftover shims, then puts the host back: kills any process
   * left in the cgroup subtree and removes it, unmounts everything under the directory, removes
   * the node address, the KUBE-* iptables chains and rules kubelet added (and the iptables-nft
   * tables that only they needed), restores the sysctls, removes host paths that did not exist
   * before and libcni's cached results of killed sandboxes; finally removes the directory.
   * Idempotent; a step that fails does not stop the others, and throws an AggregateError at the
   * end. Delete your pods first (and wait) for a clean CNI DEL. One KubeletNode per host at a
   * time: the restore assumes no other kubelet shares the host.
   */
  async stop(): Promise<HostCleanup> {
    const empty: HostCleanup = { tasksKilled: [], shimsKilled: [], sysctlsRestored: [], iptablesRemoved: [], unmounted: [], cgroupsRemoved: [], pathsRemoved: [] };
    if (this.stopped) return empty;
    this.stopped = true;
    if (this.dir === '') {
      await this.releaseHost();
      return empty;
    }
    const errors: unknown[] = [];
    const attempt = async <T>(fallback: T, step: () => Promise<T> | T): Promise<T> => {
      try {
        return await step();
      } catch (error) {
        errors.push(error);
        return fallback;
      }
    };
    await attempt(undefined, () => this.kubelet?.stop());
    const tasksKilled = this.containerd?.running === true ? await attempt([], () => this.killTasks()) : [];
    await attempt(undefined, () => this.containerd?.stop());
    // Shims outlive containerd (and a task deleted by ctr may leave its sandbox's shim running).
    const shimsKilled = await attempt([], () => killProcessesMentioning(`${this.dir}/`));
    const cgroupsRemoved = await attempt([], () => this.removeCgroups());
    const unmounted = await attempt([], () => unmountUnder(this.dir));
    if (this.addedNodeIp) await attempt(undefined, () => runCommand('ip', ['addr', 'del', `${this.nodeIp}/32`, 'dev', 'lo']));
    const iptablesRemoved = this.iptablesBefore !== undefined ? await attempt([], () => restoreKubeIptables(this.iptablesBefore ?? [])) : [];
    if (this.nftTablesBefore !== undefined) iptablesRemoved.push(...(await attempt([], () => removeNewEmptyIptablesTables(this.nftTablesBefore ?? []))).map((t) => `table ${t}`));
    const sysctlsRestored = this.sysctlsBefore !== undefined ? await attempt([], () => restoreSysctls(this.sysctlsBefore ?? new Map())) : [];
    const pathsRemoved = await attempt([], () => this.removeHostPaths());
    pathsRemoved.push(...(await attempt([], () => removeCniResults(tasksKilled))));
    if (this.options.keepDir !== true) await attempt(undefined, () => rm(this.dir, { recursive: true, force: true }));
    await attempt(undefined, () => this.releaseHost());
    if (errors.length > 0) throw new AggregateError(errors, `KubeletNode ${this.nodeName}: cleanup failed: ${errors.map(String).join('; ')}`);
    return { tasksKilled, shimsKilled, sysctlsRestored, iptablesRemoved, unmounted, cgroupsRemoved, pathsRemoved };
  }

  private async releaseHost(): Promise<void> {
    if (KubeletNode.running === this.nodeName) KubeletNode.running = undefined;
    if (this.holdsHostLock) await rm(HOST_LOCK, { force: true });
    this.holdsHostLock = false;
  }

  /** SIGKILLs and deletes every task and container in containerd's k8s.io namespace. */
  private async killTasks(): Promise<string[]> {
    const ids = (await this.ctr(['tasks', 'ls', '-q'])).split('\n').filter((id) => id !== '');
    for (const id of ids) await this.ctr(['tasks', 'kill', '-s', 'SIGKILL', id]).catch(() => undefined);
    for (const id of ids) {
      for (let i = 0; i < 20; i += 1) {
        if (await this.ctr(['tasks', 'delete', id]).then(() => true, () => false)) break;
        await sleep(250);
      }
    }
    const containers = (await this.ctr(['containers', 'ls', '-q'])).split('\n').filter((id) => id !== '');
    for (const id of containers) await this.ctr(['containers', 'delete', id]).catch(() => undefined);
    return ids;
  }

  /**
   * Removes the node's cgroup subtree, retrying while the last processes exit; container
   * processes still in it (when containerd could not kill them) are SIGKILLed first.
   */
  private async removeCgroups(): Promise<string[]> {
    for (const pid of cgroupProcs(this.cgroupRoot)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (let i = 0; ; i += 1) {
      try {
        return removeCgroupRoot(this.cgroupRoot);
      } catch (error) {
        if (i >= 20) throw error;
        await sleep(250);
      }
    }
  }

  private removeHostPaths(): string[] {
    const removed: string[] = [];
    const podLogs = join(this.dir, 'pod-logs');
    for (const [path, existed] of this.hostPathsBefore) {
      if (!existsSync(path)) continue;
      if (!existed) {
        rmSync(path, { recursive: true, force: true });
        removed.push(path);
      } else if (path === '/var/log/containers') {
        // Kubelet's links to the container logs it kept under podLogsDir.
        for (const entry of readdirSync(path)) {
          const link = join(path, entry);
          let target = '';
          try {
            target = readlinkSync(link);
          } catch {
            continue;
          }
          if (target.startsWith(podLogs)) {
            unlinkSync(link);
            removed.push(link);
          }
        }
      }
    }
    return removed;
  }
}
