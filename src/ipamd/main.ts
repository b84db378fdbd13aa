/**
 * nativeip-ipamd entry point: parse the environment, wire the parts, run until SIGTERM.
 * The only module that reads process.env or calls process.exit.
 */
import { NetlinkDatapath } from './datapath/netlink-datapath.js';
import { NftEgressNat } from './datapath/snat.js';
import type { CloudPlugin } from '../core/cloud-plugin.js';
import type { CloudProvider } from '../core/types.js';
import { FileCheckpoint } from './checkpoint/checkpoint.js';
import { chooseCloudPlugin, createCloudProvider, settingsOf } from './cloud-provider.js';
import { ConfigError, readDaemonEnvironment, withCloudDefaults, type DaemonConfig, type VpcCniJudgement } from './config/config.js';
import { waitWhileOtherAgentRuns } from './other-agent-wait.js';
import { Daemon } from './daemon.js';
import { buildLabels } from './metrics/instrumentation.js';
import { NodeMetrics } from './metrics/node-metrics.js';
import { createLogger } from './logger.js';
import type { ClusterPort } from './cluster/cluster-port.js';
import { chooseKubernetesAccess } from './config/kubernetes-choice.js';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { InstanceLockBusyError, acquireInstanceLock, type InstanceLock } from './instance-lock.js';

/** Logs a fatal reason, writes it to stderr too, and exits with `code`. */
type ExitWith = (code: number, message: string, error?: unknown) => never;

async function main(): Promise<void> {
  let config: DaemonConfig;
  let vpcCni: VpcCniJudgement;
  try {
    ({ config, vpcCni } = readDaemonEnvironment(process.env));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`nativeip-ipamd: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel, destination: config.logFile });
  const exitWith: ExitWith = (code, message, error) => {
    if (error === undefined) logger.fatal(message);
    else logger.fatal({ err: error }, message);
    // What `kubectl logs` shows, also when NATIVEIP_LOG_FILE sends the log elsewhere.
    if (config.logFile !== 'stderr') process.stderr.write(`${message}\n`);
    process.exit(code);
  };
  // Settings that would turn on a feature nativeip lacks were refused by readDaemonEnvironment (exit 2).
  for (const ignored of vpcCni.ignored) logger.warn(ignored, `AWS VPC CNI setting ${ignored.env} has no effect in nativeip; ignored`);
  const keptOff = vpcCni.matching;
  if (keptOff.length > 0) logger.info({ settings: keptOff.map((s) => `${s.env}=${s.value}`) }, 'AWS VPC CNI settings at values that keep off what nativeip does not implement; nothing to do');
  // Before the socket or the checkpoint is touched: two daemons on one node would each hand out
  // the same free addresses.
  const lock = await lockTheNode(config, logger, exitWith);
  let cloud: CloudPlugin;
  try {
    cloud = await chooseCloudPlugin(config);
  } catch (error) {
    exitWith(2, `nativeip-ipamd: ${(error as Error).message}`);
  }
  logger.info({ cloud: cloud.name, how: config.cloud === 'auto' ? 'detected from the metadata service' : 'NATIVEIP_CLOUD' }, 'cloud');
  const cloudIssues = cloud.poolSettingIssues(config);
  if (cloudIssues.length > 0) {
    exitWith(2, `nativeip-ipamd: ${new ConfigError(cloudIssues).message}`);
  }
  config = withCloudDefaults(config, cloud, process.env);
  cloud.prepareEnvironment?.(settingsOf(config, cloud), process.env);
  // Before the provider: it reports each API request to them.
  const made: { daemon?: Daemon } = {};
  const metrics = new NodeMetrics({ pool: () => made.daemon?.pool, build: buildLabels(cloud.name) });
  let provider: CloudProvider;
  try {
    provider = await createCloudProvider(cloud, config, process.env, logger, (api, ms, result) => metrics.cloudApiRequest(api, ms, result));
  } catch (error) {
    exitWith(2, `nativeip-ipamd: ${(error as Error).message}`, error);
  }
  const datapath = await NetlinkDatapath.open({
    ...(config.hostNetnsPath === undefined ? {} : { hostNetnsPath: config.hostNetnsPath }),
    logger: logger.child({ part: 'datapath' }),
  });
  const egressNat = new NftEgressNat(config.hostNetnsPath === undefined ? {} : { hostNetnsPath: config.hostNetnsPath });
  let cluster: ClusterPort | undefined;
  try {
    cluster = await connectCluster(config, logger);
  } catch (error) {
    exitWith(2, `nativeip-ipamd: cannot use the Kubernetes API: ${(error as Error).message}`, error);
  }
  const daemon = new Daemon({
    metrics,
    config,
    logger,
    provider,
    datapath,
    egressNat,
    checkpoint: new FileCheckpoint(config.checkpointPath),
    snatsEgress: cloud.snatsEgress,
    ...(cluster === undefined ? {} : { cluster }),
    ...(cloud.otherAgentOnNode === undefined ? {} : { untilNodeIsOurs: () => waitWhileOtherAgentRuns({ look: () => cloud.otherAgentOnNode!(settingsOf(config, cloud)), logger }) }),
  });
  made.daemon = daemon;

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    daemon.close().then(
      () => {
        lock.release();
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  // The last line of defence: a library's dropped promise must not take the node's network down.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection (ignored)'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  try {
    await daemon.start();
  } catch (error) {
    exitWith(1, `nativeip-ipamd could not start: ${(error as Error).message}`, error);
  }
}

/** Takes the node's single-instance lock, or exits (code 3) naming the daemon that holds it. */
async function lockTheNode(
  config: DaemonConfig,
  logger: ReturnType<typeof createLogger>,
  exitWith: ExitWith,
): Promise<InstanceLock> {
  try {
    const lock = await acquireInstanceLock({
      directories: [dirname(config.checkpointPath), dirname(config.socketPath)],
      waitMs: config.lockWaitMs,
      onWait: (path, holderPid) =>
        logger.warn({ lock: path, holderPid, waitSeconds: config.lockWaitMs / 1000 }, `another nativeip-ipamd${holderPid === undefined ? '' : ` (PID ${holderPid})`} holds ${path}: waiting for it to stop`),
    });
    logger.info({ locks: lock.paths }, 'single-instance lock taken');
    lock.watch((path) =>
      exitWith(
        3,
        `nativeip-ipamd: ${path} was removed or replaced while this daemon held it, so another daemon can lock the new file; ` +
          'exiting so that only one serves the node (do not delete the lock file: the kernel frees it when its holder ends)',
      ),
    );
    return lock;
  } catch (error) {
    return exitWith(error instanceof InstanceLockBusyError ? 3 : 1, `nativeip-ipamd: ${(error as Error).message}`);
  }
}

/** The Kubernetes port as NATIVEIP_KUBERNETES asks; the client library loads only when it is used. */
async function connectCluster(config: DaemonConfig, logger: ReturnType<typeof createLogger>): Promise<ClusterPort | undefined> {
  const { SERVICE_ACCOUNT_DIR } = await import('../kube/kube-config-paths.js');
  const access = chooseKubernetesAccess(config, {
    serviceAccountToken: existsSync(`${SERVICE_ACCOUNT_DIR}/token`),
    serviceHost: process.env['KUBERNETES_SERVICE_HOST'],
    servicePort: process.env['KUBERNETES_SERVICE_PORT'],
    hostname: hostname(),
  });
  if (access.kind === 'off') {
    logger.info({ why: access.why }, 'Kubernetes API not used');
    return undefined;
  }
  const { connectKubernetes } = await import('../kube/index.js');
  const child = logger.child({ part: 'kubernetes' });
  const endpoint = access.kind === 'kubeconfig' ? { kind: 'kubeconfig' as const, path: access.path } : { kind: 'in-cluster' as const, host: access.host, port: access.port };
  logger.info({ access: access.kind, node: access.nodeName }, 'Kubernetes API used');
  return connectKubernetes({ endpoint, nodeName: access.nodeName, logger: child });
}

void main();
