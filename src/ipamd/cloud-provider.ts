/**
 * Builds the cloud provider the daemon uses, from the configuration. The environment is passed in
 * (only main.ts reads process.env); files named by the configuration are read here.
 * Each provider is imported when chosen: a cloud's SDK costs tens of MiB of resident memory,
 * so a node never loads the other cloud's.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { CloudProvider } from '../core/types.js';
import type { DaemonConfig } from './config.js';

/** Azure VNets carry 1500-byte packets unless the VM's NIC is set otherwise. */
export const AZURE_DEFAULT_MTU = 1500;

type Env = Readonly<Record<string, string | undefined>>;

export async function createCloudProvider(cloud: 'aws' | 'azure', config: DaemonConfig, env: Env, logger: Logger): Promise<CloudProvider> {
  if (cloud === 'aws') {
    const { Ec2Provider } = await import('../providers/aws/index.js');
    return new Ec2Provider({
      ...(config.ec2Endpoint === undefined ? {} : { ec2Endpoint: config.ec2Endpoint }),
      ...(config.imdsEndpoint === undefined ? {} : { imdsEndpoint: config.imdsEndpoint }),
      ...(config.region === undefined ? {} : { region: config.region }),
      ...(config.clusterName === undefined ? {} : { clusterName: config.clusterName }),
      ...(config.maxEni === undefined ? {} : { maxEnis: config.maxEni }),
      logger: logger.child({ part: 'aws' }),
    });
  }
  const { AzureProvider, createAzureCredential, describeCredential } = await import('../providers/azure/index.js');
  const choice = {
    workloadIdentity: (env['AZURE_FEDERATED_TOKEN_FILE'] ?? '') !== '',
    ...(config.azureClientId === undefined ? {} : { clientId: config.azureClientId }),
  };
  let caBundle: string | undefined;
  if (config.azureArmCaBundle !== undefined) {
    try {
      caBundle = await readFile(config.azureArmCaBundle, 'utf8');
    } catch (error) {
      throw new Error(`NATIVEIP_AZURE_ARM_CA_BUNDLE=${config.azureArmCaBundle}: cannot read it: ${(error as Error).message}`, { cause: error });
    }
  }
  logger.info({ credential: describeCredential(choice), armEndpoint: config.azureArmEndpoint ?? 'https://management.azure.com' }, 'using Azure');
  return new AzureProvider({
    credential: createAzureCredential(choice),
    ...(config.azureArmEndpoint === undefined ? {} : { armEndpoint: config.azureArmEndpoint }),
    ...(caBundle === undefined ? {} : { armCaBundle: caBundle }),
    ...(config.azureImdsEndpoint === undefined ? {} : { imdsEndpoint: config.azureImdsEndpoint }),
    batchSize: config.azureBatchSize,
    logger: logger.child({ part: 'azure' }),
  });
}
