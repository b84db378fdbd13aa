/**
 * nativeip-ipamd entry point: parse the environment, wire the parts, run until SIGTERM.
 * The only module that reads process.env or calls process.exit.
 */
import { NetlinkDatapath } from '../cni/datapath/netlink-datapath.js';
import { Ec2Provider } from '../providers/aws/index.js';
import { FileCheckpoint } from './checkpoint.js';
import { ConfigError, findIgnoredAwsVariables, loadDaemonConfig, type DaemonConfig } from './config.js';
import { Daemon } from './daemon.js';
import { createLogger } from './logger.js';

async function main(): Promise<void> {
  let config: DaemonConfig;
  try {
    config = loadDaemonConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`nativeip-ipamd: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel, destination: config.logFile });
  for (const ignored of findIgnoredAwsVariables(process.env)) logger.warn(ignored, 'AWS VPC CNI setting not supported yet; ignored');
  if (config.cloud === 'azure') {
    logger.fatal('NATIVEIP_CLOUD=azure: the Azure provider is not built yet; use aws');
    process.exit(2);
  }
  const provider = new Ec2Provider({
    ...(config.ec2Endpoint === undefined ? {} : { ec2Endpoint: config.ec2Endpoint }),
    ...(config.imdsEndpoint === undefined ? {} : { imdsEndpoint: config.imdsEndpoint }),
    ...(config.region === undefined ? {} : { region: config.region }),
    ...(config.clusterName === undefined ? {} : { clusterName: config.clusterName }),
    ...(config.maxEni === undefined ? {} : { maxEnis: config.maxEni }),
    logger: logger.child({ part: 'aws' }),
  });
  const datapath = await NetlinkDatapath.open({
    ...(config.hostNetnsPath === undefined ? {} : { hostNetnsPath: config.hostNetnsPath }),
    logger: logger.child({ part: 'datapath' }),
  });
  const daemon = new Daemon({ config, logger, provider, datapath, checkpoint: new FileCheckpoint(config.checkpointPath) });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    daemon.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  try {
    await daemon.start();
  } catch (error) {
    logger.fatal({ err: error }, `nativeip-ipamd could not start: ${(error as Error).message}`);
    process.exit(1);
  }
}

void main();
