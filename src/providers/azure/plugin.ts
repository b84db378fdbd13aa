/**
 * Azure as the daemon sees it (src/core/cloud-plugin.ts): IP configurations on the VM's NICs
 * (nativeip never attaches NICs on Azure). The provider and the Azure SDKs are imported only when
 * the node runs on Azure.
 */
import { readFile } from 'node:fs/promises';
import type { CloudPlugin, ProbeResult } from '../../core/cloud-plugin.js';
import type { ConfigIssue } from '../../core/config/config-variable.js';
import { absolutePath, httpUrl, wholeNumber, type Parser } from '../../core/config/config-parsers.js';
import { guid, httpsUrl } from './settings-parsers.js';
import { LINK_LOCAL_METADATA, probeMetadata } from '../metadata-probe.js';

export interface AzureSettings {
  readonly armEndpoint: string | undefined;
  readonly armCaBundle: string | undefined;
  readonly imdsEndpoint: string | undefined;
  readonly batchSize: number;
  readonly clientId: string | undefined;
}

const optional = <T>(parser: Parser<T>): Parser<T | undefined> => parser;

/** Azure VNets carry 1500-byte packets unless the VM's NIC is set otherwise. */
export const AZURE_DEFAULT_MTU = 1500;

/** Azure answers `GET /metadata/instance` with `Metadata: true` and a compute document. */
export function probeAzure(endpoint: string = LINK_LOCAL_METADATA, timeoutMs = 1000): Promise<ProbeResult> {
  return probeMetadata(new URL('/metadata/instance?api-version=2021-02-01', endpoint), { headers: { Metadata: 'true' } }, timeoutMs, (body) => {
    try {
      const doc = JSON.parse(body) as { compute?: { subscriptionId?: unknown } };
      return typeof doc.compute?.subscriptionId === 'string';
    } catch {
      return false;
    }
  });
}

export const azurePlugin: CloudPlugin<AzureSettings> = {
  name: 'azure',
  title: 'Azure',
  codeWords: [],
  textWords: ['arm'],
  defaultMtu: AZURE_DEFAULT_MTU,
  // Azure's outbound rules (load balancer, NAT gateway, default outbound) translate pod addresses.
  snatsEgress: false,
  settings: {
    armEndpoint: {
      env: 'NATIVEIP_AZURE_ARM_ENDPOINT',
      field: 'armEndpoint',
      allowed: 'an https:// URL without user:password',
      default: 'unset (https://management.azure.com)',
      description: 'Azure Resource Manager endpoint, e.g. the emulator or a sovereign cloud. https only: the Azure SDKs send bearer tokens over TLS only.',
      parse: optional(httpsUrl),
      fallback: undefined,
    },
    armCaBundle: {
      env: 'NATIVEIP_AZURE_ARM_CA_BUNDLE',
      field: 'armCaBundle',
      allowed: 'an absolute path',
      default: 'unset (the system CAs)',
      description: 'PEM file of extra certificate authorities trusted for ARM (the emulator’s self-signed certificate); TLS is never switched off.',
      parse: optional(absolutePath()),
      fallback: undefined,
    },
    imdsEndpoint: {
      env: 'NATIVEIP_AZURE_IMDS_ENDPOINT',
      field: 'imdsEndpoint',
      allowed: 'an http:// or https:// URL without user:password',
      default: 'unset (http://169.254.169.254)',
      description: 'Azure instance metadata endpoint, e.g. the emulator; the managed-identity token is fetched from it too.',
      parse: optional(httpUrl),
      fallback: undefined,
    },
    batchSize: {
      env: 'NATIVEIP_AZURE_BATCH_SIZE',
      field: 'batchSize',
      allowed: 'a whole number from 1 to 255',
      default: '32',
      description: 'Most IP configurations one NIC write adds; a larger shortfall takes several writes.',
      parse: wholeNumber(1, 255),
      fallback: 32,
    },
    clientId: {
      env: 'AZURE_CLIENT_ID',
      field: 'clientId',
      allowed: 'a GUID such as 6f1c1a9e-0b8d-4c63-9a43-2d2a7f3b1c55',
      default: 'unset (the system-assigned identity)',
      description: 'Client id of the user-assigned managed identity (or workload identity) nativeip authenticates as.',
      parse: optional(guid),
      fallback: undefined,
    },
  },
  probe: (settings, timeoutMs) => probeAzure(settings.imdsEndpoint, timeoutMs),
  poolSettingIssues(pool) {
    const issues: ConfigIssue[] = [];
    if (pool.warmEniTarget !== undefined) {
      issues.push({
        env: 'WARM_ENI_TARGET',
        message:
          `WARM_ENI_TARGET="${pool.warmEniTarget}": has no meaning on Azure, where nativeip does not attach NICs ` +
          '(one "interface\'s worth" would be 255 addresses per NIC); set WARM_IP_TARGET / MINIMUM_IP_TARGET, or unset it for the adaptive default',
      });
    }
    if (pool.prefixDelegation) {
      issues.push({ env: 'ENABLE_PREFIX_DELEGATION', message: 'ENABLE_PREFIX_DELEGATION="true": /28 prefix delegation exists on EC2 only; unset it on Azure' });
    }
    return issues;
  },
  prepareEnvironment(settings, env) {
    // Why: @azure/identity's managed-identity credential takes its IMDS host from this variable only.
    if (settings.imdsEndpoint !== undefined && (env['AZURE_POD_IDENTITY_AUTHORITY_HOST'] ?? '') === '') {
      env['AZURE_POD_IDENTITY_AUTHORITY_HOST'] = settings.imdsEndpoint;
    }
  },
  simulation: async () => (await import('./simulated-provider.js')).simulatedAzureProvider,
  async createProvider(settings, context) {
    const { AzureProvider, createAzureCredential, describeCredential } = await import('./index.js');
    const choice = {
      workloadIdentity: (context.env['AZURE_FEDERATED_TOKEN_FILE'] ?? '') !== '',
      ...(settings.clientId === undefined ? {} : { clientId: settings.clientId }),
    };
    let caBundle: string | undefined;
    if (settings.armCaBundle !== undefined) {
      try {
        caBundle = await readFile(settings.armCaBundle, 'utf8');
      } catch (error) {
        throw new Error(`NATIVEIP_AZURE_ARM_CA_BUNDLE=${settings.armCaBundle}: cannot read it: ${(error as Error).message}`, { cause: error });
      }
    }
    context.logger.info({ credential: describeCredential(choice), armEndpoint: settings.armEndpoint ?? 'https://management.azure.com' }, 'using Azure');
    return new AzureProvider({
      credential: createAzureCredential(choice),
      ...(settings.armEndpoint === undefined ? {} : { armEndpoint: settings.armEndpoint }),
      ...(caBundle === undefined ? {} : { armCaBundle: caBundle }),
      ...(settings.imdsEndpoint === undefined ? {} : { imdsEndpoint: settings.imdsEndpoint }),
      batchSize: settings.batchSize,
      logger: context.logger.child({ part: 'azure' }),
      ...(context.apiObserver === undefined ? {} : { apiObserver: context.apiObserver }),
    });
  },
};
