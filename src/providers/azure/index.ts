export { AzureProvider, DEFAULT_AZURE_BATCH_SIZE, type AzureProviderLogger, type AzureProviderOptions } from './azure-provider.js';
export { createAzureCredential, describeCredential, type AzureCredentialChoice } from './credential.js';
export { DEFAULT_AZURE_IMDS_ENDPOINT, decodeInstanceMetadata, readInstanceMetadata, readNetworkMetadata, type AzureInstanceMetadata } from './imds-client.js';
export { ImdsNetworkDecodeError, decodeNetworkMetadata, observationFromImds, type ImdsInterface, type KnownNic } from './imds-network.js';
export { MAX_IP_CONFIGS_PER_NIC, OUR_CONFIG_PREFIX } from './ip-configs.js';
