/**
 * Azure Instance Metadata Service: the VM's identity and its NICs as the VM sees them.
 * `GET /metadata/instance?api-version=2021-02-01` (and its `network` part alone) with
 * `Metadata: true` (IMDS refuses requests without it, which keeps it from being reached through a
 * proxy by accident).
 */
import { CloudError } from '../../core/types.js';
import type { AzureImdsApi } from './imds-api.js';
import { decodeNetworkMetadata, type ImdsInterface } from './imds-network.js';
import { normaliseMac } from './resource-id.js';

export type { ImdsInterface } from './imds-network.js';

export const DEFAULT_AZURE_IMDS_ENDPOINT = 'http://169.254.169.254';
export const IMDS_API_VERSION = '2021-02-01';

export interface AzureInstanceMetadata {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly vmName: string;
  readonly vmSize: string;
  readonly location: string;
  /** The VM's ARM id: `…/virtualMachines/{name}`, or `…/virtualMachineScaleSets/{ss}/virtualMachines/{n}` (Uniform). */
  readonly resourceId: string;
  /** Set for scale-set instances (Uniform and Flexible). */
  readonly scaleSetName: string | undefined;
  readonly interfaces: readonly ImdsInterface[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

/** Decodes the IMDS instance document; throws an Error naming the first missing field. */
export function decodeInstanceMetadata(value: unknown): AzureInstanceMetadata {
  if (!isRecord(value) || !isRecord(value['compute'])) throw new Error('IMDS instance document has no compute section');
  const compute = value['compute'];
  const field = (name: string): string => {
    const v = compute[name];
    if (typeof v !== 'string' || v === '') throw new Error(`IMDS compute.${name} is missing`);
    return v;
  };
  const scaleSet = compute['vmScaleSetName'];
  const network = isRecord(value['network']) ? value['network'] : {};
  const interfaces = records(network['interface']).flatMap((nic): ImdsInterface[] => {
    const mac = typeof nic['macAddress'] === 'string' ? normaliseMac(nic['macAddress']) : undefined;
    if (mac === undefined) return [];
    const ipv4 = isRecord(nic['ipv4']) ? nic['ipv4'] : {};
    const addresses = records(ipv4['ipAddress']).flatMap((a) => (typeof a['privateIpAddress'] === 'string' ? [a['privateIpAddress']] : []));
    const subnet = records(ipv4['subnet'])[0];
    const subnetCidr =
      subnet !== undefined && typeof subnet['address'] === 'string' && typeof subnet['prefix'] === 'string'
        ? `${subnet['address']}/${subnet['prefix']}`
        : undefined;
    return [{ mac, addresses, subnetCidr }];
  });
  return {
    subscriptionId: field('subscriptionId'),
    resourceGroup: field('resourceGroupName'),
    vmName: field('name'),
    vmSize: field('vmSize'),
    location: typeof compute['location'] === 'string' ? compute['location'] : '',
    resourceId: field('resourceId'),
    scaleSetName: typeof scaleSet === 'string' && scaleSet !== '' ? scaleSet : undefined,
    interfaces,
  };
}

export interface AzureImdsClientOptions {
  readonly endpoint?: string;
  /** Per-request timeout. Default 2000 ms. */
  readonly timeoutMs?: number;
}

const INSTANCE_PATH = '/metadata/instance';
const NETWORK_PATH = '/metadata/instance/network';

/** Reads the instance document. Throws CloudError (Transient when IMDS does not answer). */
export async function readInstanceMetadata(options: AzureImdsClientOptions = {}): Promise<AzureInstanceMetadata> {
  return instanceMetadataOf(await fetchImds(INSTANCE_PATH, options));
}

/**
 * Reads the VM's NICs with their private addresses from `/metadata/instance/network`: no ARM call,
 * no token. Throws CloudError: Transient when IMDS does not answer or the document is malformed.
 */
export async function readNetworkMetadata(options: AzureImdsClientOptions = {}): Promise<ImdsInterface[]> {
  return networkMetadataOf(await fetchImds(NETWORK_PATH, options));
}

/** {@link AzureImdsApi} over HTTP: the VM's own IMDS (or the emulator's, at `options.endpoint`). */
export function httpAzureImds(options: AzureImdsClientOptions = {}): AzureImdsApi {
  return { instance: () => fetchImds(INSTANCE_PATH, options), network: () => fetchImds(NETWORK_PATH, options) };
}

/** Decodes an instance document; a malformed one is a Transient CloudError naming the first bad field. */
export function instanceMetadataOf(document: unknown): AzureInstanceMetadata {
  return decodeOrThrow(INSTANCE_PATH, document, decodeInstanceMetadata);
}

/** Decodes a network document; a malformed one is a Transient CloudError naming the first bad field. */
export function networkMetadataOf(document: unknown): ImdsInterface[] {
  return decodeOrThrow(NETWORK_PATH, document, decodeNetworkMetadata);
}

function decodeOrThrow<T>(path: string, document: unknown, decode: (value: unknown) => T): T {
  try {
    return decode(document);
  } catch (error) {
    throw new CloudError('Transient', `Azure IMDS ${path} answer is unusable: ${(error as Error).message}`, { cause: error });
  }
}

/** GETs an IMDS path and parses its JSON. Throws CloudError (Transient when IMDS does not answer or the body is not JSON). */
async function fetchImds(path: string, options: AzureImdsClientOptions): Promise<unknown> {
  const base = options.endpoint ?? DEFAULT_AZURE_IMDS_ENDPOINT;
  const url = new URL(`${path}?api-version=${IMDS_API_VERSION}`, base);
  let response: Response;
  try {
    response = await fetch(url, { headers: { Metadata: 'true' }, signal: AbortSignal.timeout(options.timeoutMs ?? 2000) });
  } catch (error) {
    throw new CloudError('Transient', `Azure IMDS ${url.origin} did not answer: ${(error as Error).message}`, { cause: error });
  }
  const body = await response.text();
  if (!response.ok) {
    const kind = response.status === 404 ? 'NotFound' : response.status === 400 ? 'InvalidRequest' : 'Transient';
    throw new CloudError(kind, `Azure IMDS ${url.pathname} answered HTTP ${response.status}: ${body.slice(0, 200)}`, { cloudCode: `IMDS-${response.status}` });
  }
  try {
    return JSON.parse(body) as unknown;
  } catch (error) {
    throw new CloudError('Transient', `Azure IMDS ${url.pathname} answer is unusable: ${(error as Error).message}`, { cause: error });
  }
}
