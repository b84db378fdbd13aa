/**
 * AWS as the daemon sees it (src/core/cloud-plugin.ts): EC2 ENIs with secondary addresses or /28
 * prefixes. The provider and the AWS SDK are imported only when the node runs on AWS.
 */
import type { CloudPlugin, ProbeResult } from '../../core/cloud-plugin.js';
import { clusterName, hostPortOrOff, httpUrl, type Parser } from '../../core/config/config-parsers.js';
import { LINK_LOCAL_METADATA, probeMetadata } from '../metadata-probe.js';
import { describeInstanceLimits, instanceLimits } from './instance-limits.js';

export interface AwsSettings {
  readonly clusterName: string | undefined;
  readonly ec2Endpoint: string | undefined;
  readonly imdsEndpoint: string | undefined;
  readonly region: string | undefined;
  /** Where aws-node's ipamd would answer; unset: not looked for. */
  readonly awsNodeAddress: { readonly host: string; readonly port: number } | undefined;
}

const optional = <T>(parser: Parser<T>): Parser<T | undefined> => parser;

/** AWS region names: `us-east-1`, `us-gov-west-1`, `ap-southeast-2`, `cn-north-1`, … */
export const awsRegion: Parser<string> = (raw) => (/^[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}$/.test(raw) ? { ok: true, value: raw } : { ok: false });

/** EC2's MTU within a VPC (jumbo frames). */
const EC2_MTU = 9001;

/** AWS answers `PUT /latest/api/token` (IMDSv2) with a token. */
export function probeAws(endpoint: string = LINK_LOCAL_METADATA, timeoutMs = 1000): Promise<ProbeResult> {
  return probeMetadata(new URL('/latest/api/token', endpoint), { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' } }, timeoutMs, (body) => body.trim() !== '');
}

export const awsPlugin: CloudPlugin<AwsSettings> = {
  name: 'aws',
  title: 'AWS',
  codeWords: ['ec2'],
  textWords: ['imdsv2'],
  defaultMtu: EC2_MTU,
  snatsEgress: true,
  instanceLimits,
  instanceLimitsTable: describeInstanceLimits,
  settings: {
    clusterName: {
      env: 'CLUSTER_NAME',
      field: 'clusterName',
      allowed: 'letters, digits, ".", "-" and "_", starting with a letter or digit, at most 253',
      default: 'unset',
      description: 'Cluster name, tagged on the interfaces nativeip creates.',
      parse: optional(clusterName),
      fallback: undefined,
    },
    ec2Endpoint: {
      env: 'AWS_ENDPOINT_URL_EC2',
      field: 'ec2Endpoint',
      allowed: 'an http:// or https:// URL without user:password',
      default: 'unset (the SDK default)',
      description: 'EC2 API endpoint, e.g. the emulator. Read by the AWS SDK under the same name.',
      parse: optional(httpUrl),
      fallback: undefined,
    },
    imdsEndpoint: {
      env: 'AWS_EC2_METADATA_SERVICE_ENDPOINT',
      field: 'imdsEndpoint',
      allowed: 'an http:// or https:// URL without user:password',
      default: 'unset (http://169.254.169.254)',
      description: 'Instance metadata endpoint, e.g. the emulator. Same name as the AWS SDK uses.',
      parse: optional(httpUrl),
      fallback: undefined,
    },
    region: {
      env: 'AWS_REGION',
      fallbackEnv: 'AWS_DEFAULT_REGION',
      field: 'region',
      allowed: 'an AWS region name such as us-east-1',
      default: 'unset (read from instance metadata)',
      description: 'AWS region; AWS_DEFAULT_REGION is read when AWS_REGION is unset.',
      parse: optional(awsRegion),
      fallback: undefined,
    },
    awsNodeAddress: {
      env: 'NATIVEIP_AWS_NODE_ADDRESS',
      field: 'awsNodeAddress',
      allowed: 'an IPv4 address and port, or off',
      default: '127.0.0.1:50051',
      description:
        'Where the AWS VPC CNI’s daemon (aws-node’s ipamd) serves its plugin. While something answers there the daemon ' +
        'waits before reading the node or serving pods (two IPAM daemons would hand out the same addresses), and says so ' +
        'every minute; off skips the check.',
      parse: hostPortOrOff,
      fallback: { host: '127.0.0.1', port: 50051 },
    },
  },
  probe: (settings, timeoutMs) => probeAws(settings.imdsEndpoint, timeoutMs),
  poolSettingIssues: () => [],
  otherAgentOnNode: async (settings) => (await import('./aws-node-probe.js')).awsNodeOnNode(settings.awsNodeAddress),
  simulation: async () => (await import('./simulated-provider.js')).simulatedEc2Provider,
  async createProvider(settings, context) {
    const { Ec2Provider } = await import('./index.js');
    return new Ec2Provider({
      ...(settings.ec2Endpoint === undefined ? {} : { ec2Endpoint: settings.ec2Endpoint }),
      ...(settings.imdsEndpoint === undefined ? {} : { imdsEndpoint: settings.imdsEndpoint }),
      ...(settings.region === undefined ? {} : { region: settings.region }),
      ...(settings.clusterName === undefined ? {} : { clusterName: settings.clusterName }),
      ...(context.maxInterfaces === undefined ? {} : { maxEnis: context.maxInterfaces }),
      logger: context.logger.child({ part: 'aws' }),
      ...(context.apiObserver === undefined ? {} : { apiObserver: context.apiObserver }),
    });
  },
};
