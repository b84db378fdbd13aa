/**
 * A real Kubernetes control plane for tests: etcd and kube-apiserver v1.35.4 (optionally
 * kube-controller-manager and kube-scheduler) on 127.0.0.1 with free ports, in a temporary
 * directory holding certificates, kubeconfigs, data and each process's log.
 *
 *   const cp = new LocalControlPlane({ controllerManager: true, scheduler: true });
 *   await cp.start();            // throws with the failing process's log tail
 *   await cp.kubectl(['get', 'ns']);
 *   await cp.stop();             // always, in afterAll / finally
 *
 * Built by scripts/install-kube.sh; see NOTES.md for how it was made to run on this machine.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeBinary, kubeBinDir } from './binaries.js';
import { httpsGet, writeKubeconfig, type KubeCredentials } from './kubeconfig.js';
import { TestPki, type CertPaths } from './pki.js';
import { freePort, ManagedProcess, runCommand, tailFile, type RunOptions } from './process.js';

export interface LocalControlPlaneOptions {
  /** Also run kube-controller-manager (default ServiceAccounts, tokens, Deployments, GC). Default false. */
  readonly controllerManager?: boolean;
  /** Also run kube-scheduler. Default false. */
  readonly scheduler?: boolean;
  /** Where the temporary directory is made; default the OS temp dir. */
  readonly baseDir?: string;
  /** Directory of the binaries; default {@link kubeBinDir}. */
  readonly binDir?: string;
  /** Service ClusterIP range; no traffic is ever sent to it. Default 198.19.240.0/20. */
  readonly serviceClusterIpRange?: string;
  /** Keep the temporary directory (logs, data) after stop(), for debugging. Default false. */
  readonly keepDir?: boolean;
  /** Extra kube-apiserver flags (`--name=value`), appended last. */
  readonly extraApiServerArgs?: readonly string[];
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (for `apply -f -`). */
  readonly input?: string;
  /** Default 60 s. */
  readonly timeoutMs?: number;
}

const START_TIMEOUT_MS = 60_000;

/** etcd + kube-apiserver (+ controller-manager, scheduler) on loopback. Not reusable after stop(). */
export class LocalControlPlane {
  /** https://127.0.0.1:<port>, set by start(). */
  server = '';
  /** The temporary directory (certificates, kubeconfigs, etcd data, `*.log`), set by start(). */
  dir = '';
  /** The admin's bearer token (user `admin`, group system:masters). */
  readonly adminToken = randomBytes(16).toString('hex');
  /** CA and signing helpers; set by start(). Nodes get their client certificates from it. */
  pki: TestPki | undefined;

  private readonly binDir: string;
  private readonly processes: ManagedProcess[] = [];
  private etcd: ManagedProcess | undefined;
  private apiServer: ManagedProcess | undefined;

  constructor(private readonly options: LocalControlPlaneOptions = {}) {
    this.binDir = options.binDir ?? kubeBinDir();
  }

  /**
   * A started control plane. Its components listen on free loopback ports picked just before they
   * start, so another test starting at the same moment can take one first (`bind: address already
   * in use`): then a new one starts on new ports, at most three times.
   */
  static async started(options: LocalControlPlaneOptions = {}): Promise<LocalControlPlane> {
    for (let attempt = 1; ; attempt += 1) {
      const cp = new LocalControlPlane(options);
      try {
        await cp.start();
        return cp;
      } catch (error) {
        if (attempt >= 3 || !/address already in use/.test((error as Error).message)) throw error;
      }
    }
  }

  /** The CA certificate that signed every certificate here, the API server's included. */
  get caPath(): string {
    return join(this.dir, 'pki', 'ca.crt');
  }

  /** A kubeconfig for the admin (token auth, system:masters). */
  get adminKubeconfigPath(): string {
    return join(this.dir, 'admin.kubeconfig');
  }

  /**
   * Creates the directory and certificates, starts etcd and the API server and waits for
   * /readyz, then the optional components and their /healthz. On failure everything started is
   * stopped and the directory removed; the error carries the failing process's log tail.
   */
  async start(): Promise<void> {
    if (this.dir !== '') throw new Error('LocalControlPlane.start() called twice');
    const bin = (name: Parameters<typeof kubeBinary>[0]): string => kubeBinary(name, this.binDir);
    const binaries = {
      etcd: bin('etcd'),
      apiServer: bin('kube-apiserver'),
      controllerManager: this.options.controllerManager === true ? bin('kube-controller-manager') : '',
      scheduler: this.options.scheduler === true ? bin('kube-scheduler') : '',
    };
    bin('kubectl');
    this.dir = await mkdtemp(join(this.options.baseDir ?? tmpdir(), 'nativeip-kube-'));
    try {
      await this.startAll(binaries);
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  private async startAll(binaries: { etcd: string; apiServer: string; controllerManager: string; scheduler: string }): Promise<void> {
    const pkiDir = join(this.dir, 'pki');
    await mkdir(pkiDir, { recursive: true });
    const pki = new TestPki(pkiDir);
    this.pki = pki;
    await pki.createCa();
    const serving = await pki.issue({
      name: 'apiserver',
      commonName: 'kube-apiserver',
      ipAddresses: ['127.0.0.1'],
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    });
    // The API server's client certificate towards kubelets (exec, logs): the kubelet's webhook
    // authorizer asks the API server, and system:masters may do everything.
    const kubeletClient = await pki.issue({ name: 'apiserver-kubelet-client', commonName: 'kube-apiserver-kubelet-client', organizations: ['system:masters'] });
    const sa = await pki.keyPair('sa');
    const tokensPath = join(this.dir, 'tokens.csv');
    await writeFile(tokensPath, `${this.adminToken},admin,admin,"system:masters"\n`, { mode: 0o600 });

    const [etcdPort, etcdPeerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    this.etcd = this.track(
      new ManagedProcess({
        name: 'etcd',
        command: binaries.etcd,
        args: [
          '--name=default',
          `--data-dir=${join(this.dir, 'etcd')}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
          `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
          '--unsafe-no-fsync',
          '--log-level=warn',
        ],
        logPath: join(this.dir, 'etcd.log'),
      }),
    );
    this.etcd.start();
    await this.etcd.waitUntil('healthy', async () => {
      const response = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(1000) });
      return response.ok && ((await response.json()) as { health?: unknown }).health === 'true';
    }, START_TIMEOUT_MS);

    this.server = `https://127.0.0.1:${apiPort}`;
    this.apiServer = this.track(
      new ManagedProcess({
        name: 'kube-apiserver',
        command: binaries.apiServer,
        args: [
          '--bind-address=127.0.0.1',
          '--advertise-address=127.0.0.1',
          `--secure-port=${apiPort}`,
          `--cert-dir=${join(this.dir, 'apiserver-certs')}`,
          `--etcd-servers=${etcdUrl}`,
          `--client-ca-file=${pki.caCertPath}`,
          `--tls-cert-file=${serving.certPath}`,
          `--tls-private-key-file=${serving.keyPath}`,
          `--token-auth-file=${tokensPath}`,
          '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
          `--service-account-key-file=${sa.publicKeyPath}`,
          `--service-account-signing-key-file=${sa.privateKeyPath}`,
          '--authorization-mode=Node,RBAC',
          '--enable-admission-plugins=NodeRestriction',
          '--endpoint-reconciler-type=none',
          '--kubelet-preferred-address-types=InternalIP',
          `--kubelet-client-certificate=${kubeletClient.certPath}`,
          `--kubelet-client-key=${kubeletClient.keyPath}`,
          `--service-cluster-ip-range=${this.options.serviceClusterIpRange ?? '198.19.240.0/20'}`,
          '--allow-privileged=true',
          '--profiling=false',
          ...(this.options.extraApiServerArgs ?? []),
        ],
        logPath: join(this.dir, 'kube-apiserver.log'),
      }),
    );
    await writeKubeconfig(this.adminKubeconfigPath, { server: this.server, caPath: pki.caCertPath, credentials: { token: this.adminToken } });
    await this.startApiServer();

    if (binaries.controllerManager !== '') {
      const kubeconfig = await this.componentKubeconfig('kube-controller-manager', 'system:kube-controller-manager');
      const port = await freePort();
      await this.startComponent('kube-controller-manager', binaries.controllerManager, port, [
        `--kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${port}`,
        `--cert-dir=${join(this.dir, 'kube-controller-manager-certs')}`,
        `--service-account-private-key-file=${sa.privateKeyPath}`,
        `--root-ca-file=${pki.caCertPath}`,
        '--use-service-account-credentials=true',
        `--cluster-signing-cert-file=${pki.caCertPath}`,
        `--cluster-signing-key-file=${pki.caKeyPath}`,
        // Not the host's /usr/libexec/kubernetes/kubelet-plugins/volume/exec, which it creates.
        `--flex-volume-plugin-dir=${join(this.dir, 'flexvolume')}`,
        '--leader-elect=false',
        '--profiling=false',
      ]);
    }
    if (binaries.scheduler !== '') {
      const kubeconfig = await this.componentKubeconfig('kube-scheduler', 'system:kube-scheduler');
      const port = await freePort();
      await this.startComponent('kube-scheduler', binaries.scheduler, port, [
        `--kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${port}`,
        '--leader-elect=false',
        '--profiling=false',
      ]);
    }
  }

  private track(proc: ManagedProcess): ManagedProcess {
    this.processes.push(proc);
    return proc;
  }

  /** A client certificate for a control-plane component and a kubeconfig using it. */
  private async componentKubeconfig(name: string, user: string): Promise<string> {
    const cert = await this.issueClientCert(name, user, []);
    const path = join(this.dir, `${name}.kubeconfig`);
    await writeKubeconfig(path, { server: this.server, caPath: this.caPath, credentials: cert });
    return path;
  }

  private async startComponent(name: string, command: string, port: number, args: readonly string[]): Promise<void> {
    const proc = this.track(new ManagedProcess({ name, command, args, logPath: join(this.dir, `${name}.log`) }));
    proc.start();
    await proc.waitUntil('healthy', async () => (await httpsGet(`https://127.0.0.1:${port}/healthz`)).status === 200, START_TIMEOUT_MS);
  }

  /**
   * A client certificate signed by the cluster CA for `user` in `groups` (e.g.
   * `system:node:<name>` in `system:nodes`), as `<dir>/pki/<fileName>.{crt,key}`.
   */
  async issueClientCert(fileName: string, user: string, groups: readonly string[]): Promise<CertPaths> {
    if (this.pki === undefined) throw new Error('LocalControlPlane is not started');
    return this.pki.issue({ name: fileName, commonName: user, organizations: groups });
  }

  /** Writes a kubeconfig for this cluster with the given credentials. */
  async writeKubeconfig(path: string, credentials: KubeCredentials): Promise<void> {
    await writeKubeconfig(path, { server: this.server, caPath: this.caPath, credentials });
  }

  /** True while the API server process runs (false between stopApiServer and startApiServer). */
  get apiServerRunning(): boolean {
    return this.apiServer?.running === true;
  }

  /**
   * Stops the API server alone; etcd and the other components keep running, so the data
   * survives. SIGTERM, then SIGKILL after `graceMs` (default 3 s): with the controller-manager's
   * and scheduler's watches open, a graceful stop waits up to --request-timeout (60 s) for them,
   * and a killed API server loses nothing (etcd has every acknowledged write). Idempotent.
   */
  async stopApiServer(options: { readonly graceMs?: number } = {}): Promise<void> {
    await this.apiServer?.stop(options.graceMs ?? 3000);
  }

  /** Starts the API server again on the same port and waits for /readyz (after {@link stopApiServer}). */
  async startApiServer(): Promise<void> {
    const apiServer = this.apiServer;
    if (apiServer === undefined) throw new Error('LocalControlPlane is not started');
    apiServer.start();
    await apiServer.waitUntil('ready (/readyz)', async () => (await httpsGet(`${this.server}/readyz`, { caPath: this.caPath, token: this.adminToken })).status === 200, START_TIMEOUT_MS);
  }

  /** The last `lines` lines of a component's log (etcd, kube-apiserver, kube-controller-manager, kube-scheduler). */
  logTail(component: 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler', lines = 40): string {
    return this.dir === '' ? '' : tailFile(join(this.dir, `${component}.log`), lines);
  }

  /** Runs the built kubectl with the admin kubeconfig; returns stdout, throws with stderr on failure. */
  kubectl(args: readonly string[], options: KubectlOptions = {}): Promise<string> {
    const runOptions: RunOptions = {
      ...(options.input !== undefined ? { input: options.input } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    };
    return runCommand(kubeBinary('kubectl', this.binDir), [`--kubeconfig=${this.adminKubeconfigPath}`, ...args], runOptions);
  }

  /** `kubectl <args> -o json`, parsed. */
  async kubectlJson<T = unknown>(args: readonly string[]): Promise<T> {
    return JSON.parse(await this.kubectl([...args, '-o', 'json'])) as T;
  }

  /**
   * Stops every process (last started first: SIGTERM, SIGKILL after 10 s) and removes the
   * directory. Idempotent; safe after a failed start.
   */
  async stop(): Promise<void> {
    for (const proc of [...this.processes].reverse()) await proc.stop();
    if (this.dir !== '' && this.options.keepDir !== true) await rm(this.dir, { recursive: true, force: true });
  }
}
