import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CONFIG_VARIABLES,
  ConfigError,
  loadDaemonConfig,
  readDaemonEnvironment,
  withCloudDefaults,
  type CommonConfig,
  type DaemonConfig,
} from '../../src/ipamd/config/config.js';
import { CLOUD_PLUGINS } from '../../src/ipamd/clouds.js';
import type { AwsSettings } from '../../src/providers/aws/plugin.js';
import type { AzureSettings } from '../../src/providers/azure/plugin.js';

/** The AWS settings a config holds. */
const awsOf = (config: DaemonConfig) => config.cloudSettings['aws'] as AwsSettings;
import { editDistance } from '../../src/ipamd/config/config-names.js';

type Env = Record<string, string | undefined>;

/** The settings the daemon warns about at start: from the same reading that made its config. */
const findIgnoredVpcCniVariables = (env: Env) => readDaemonEnvironment(env).vpcCni.ignored;

function configError(env: Env): ConfigError {
  try {
    loadDaemonConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

interface ValidCase<C, K extends keyof C> {
  readonly raw: string;
  readonly value: C[K];
  /** Other variables the case needs to be valid on its own. */
  readonly with?: Env;
}

interface Cases<C, K extends keyof C> {
  readonly valid: readonly ValidCase<C, K>[];
  readonly invalid: readonly string[];
}

/** A NATIVEIP_CLOUD value no cloud will be named, whichever clouds are registered. */
const NO_SUCH_CLOUD = 'no-such-cloud';

const URL_INVALID = ['localhost:5000', 'ftp://127.0.0.1/', 'http://user:pw@127.0.0.1/', 'not a url', '127.0.0.1'];

/** Keyed by field, so a new CommonConfig field without cases does not compile. */
const CASES: { readonly [K in keyof CommonConfig]: Cases<CommonConfig, K> } = {
  warmEniTarget: {
    valid: [
      { raw: '0', value: 0 },
      { raw: '0', value: 0, with: { WARM_IP_TARGET: '1' } },
      { raw: '3', value: 3 },
      { raw: '05', value: 5 },
    ],
    invalid: ['abc', '-1', '1.5', ' 1', '1 ', '1e3', '0x10', '+1', '99999999999999999999'],
  },
  warmIpTarget: {
    valid: [
      { raw: '0', value: 0 },
      { raw: '5', value: 5 },
    ],
    invalid: ['abc', '-2', '2.0', 'five'],
  },
  minimumIpTarget: {
    valid: [
      { raw: '0', value: 0 },
      { raw: '10', value: 10 },
    ],
    invalid: ['ten', '-1', '10%'],
  },
  maxEni: {
    valid: [
      { raw: '1', value: 1 },
      { raw: '15', value: 15 },
    ],
    invalid: ['0', '-1', 'max'],
  },
  prefixDelegation: {
    valid: [
      { raw: 'true', value: true },
      { raw: 'FALSE', value: false },
      { raw: '1', value: true },
    ],
    invalid: ['yes', 'enabled', '2'],
  },
  warmPrefixTarget: {
    valid: [
      { raw: '0', value: 0 },
      { raw: '0', value: 0, with: { ENABLE_PREFIX_DELEGATION: 'true', MINIMUM_IP_TARGET: '4' } },
      { raw: '2', value: 2, with: { ENABLE_PREFIX_DELEGATION: 'true' } },
    ],
    invalid: ['-1', 'one', '1.5'],
  },
  nodePortSupport: {
    valid: [
      { raw: 'false', value: false },
      { raw: 'TRUE', value: true },
      { raw: '0', value: false },
    ],
    invalid: ['no', 'off'],
  },
  connmark: {
    valid: [
      { raw: '128', value: 0x80 },
      { raw: '0x80', value: 0x80 },
      { raw: '0X4000', value: 0x4000 },
      { raw: '0xffffffff', value: 0xffffffff },
    ],
    invalid: ['0', '0x0', '0x100000000', '4294967296', '-1', '0x', '80h', ' 128', '1e3'],
  },
  disableLeakedEniCleanup: {
    valid: [
      { raw: 'true', value: true },
      { raw: 'false', value: false },
    ],
    invalid: ['off', 'y'],
  },
  eniGcIntervalMs: {
    valid: [
      { raw: '1', value: 1000 },
      { raw: '300', value: 300_000 },
    ],
    invalid: ['0', '5m', '-1'],
  },
  kubernetes: {
    valid: [
      { raw: 'auto', value: 'auto' },
      { raw: 'on', value: 'on' },
      { raw: 'off', value: 'off' },
    ],
    invalid: ['yes', 'true', 'in-cluster'],
  },
  kubeconfig: {
    valid: [{ raw: '/etc/kubernetes/kubelet.conf', value: '/etc/kubernetes/kubelet.conf' }],
    invalid: ['kubeconfig', '~/.kube/config'],
  },
  nodeName: {
    valid: [
      { raw: 'ip-10-0-1-23.ec2.internal', value: 'ip-10-0-1-23.ec2.internal' },
      { raw: 'aks-pool-0', value: 'aks-pool-0' },
    ],
    invalid: ['Node-A', '-node', 'node_a', 'node a', `${'a'.repeat(254)}`, 'node.'],
  },
  taintExhaustedNodes: {
    valid: [
      { raw: 'false', value: false },
      { raw: '1', value: true },
    ],
    invalid: ['no', 'maybe'],
  },
  cniConfDir: {
    valid: [{ raw: '/host/etc/cni/net.d', value: '/host/etc/cni/net.d' }],
    invalid: ['etc/cni/net.d'],
  },
  healthAddress: {
    valid: [
      { raw: '127.0.0.1:61680', value: { host: '127.0.0.1', port: 61680 } },
      { raw: 'off', value: undefined },
    ],
    invalid: ['61680', ':61680', 'localhost:61680', '127.0.0.1:0', '127.0.0.1:65536', '127.0.0.300:80', 'on'],
  },
  metricsAddress: {
    valid: [
      { raw: '0.0.0.0:61678', value: { host: '0.0.0.0', port: 61678 } },
      { raw: 'off', value: undefined },
    ],
    invalid: ['61678', ':61678', 'localhost:61678', '0.0.0.0:0', 'true'],
  },
  disableMetrics: { valid: [{ raw: 'true', value: true }, { raw: 'FALSE', value: false }, { raw: '1', value: true }], invalid: ['yes', 'disabled'] },
  introspectionAddress: {
    valid: [
      { raw: '127.0.0.1:61679', value: { host: '127.0.0.1', port: 61679 } },
      { raw: 'off', value: undefined },
    ],
    invalid: ['61679', 'localhost:61679', '127.0.0.1:70000'],
  },
  disableIntrospection: { valid: [{ raw: 'true', value: true }, { raw: '0', value: false }], invalid: ['no'] },
  ipCooldownMs: {
    valid: [
      { raw: '0', value: 0 },
      { raw: '30', value: 30_000 },
      { raw: '2147483', value: 2_147_483_000 },
    ],
    invalid: ['30s', '2147484', '-5', '0.5'],
  },
  mtu: {
    valid: [
      { raw: '576', value: 576 },
      { raw: '1500', value: 1500 },
      { raw: '9001', value: 9001 },
    ],
    invalid: ['575', '9002', 'jumbo', '1500.0'],
  },
  vethPrefix: {
    valid: [
      { raw: 'eni', value: 'eni' },
      { raw: 'a', value: 'a' },
      { raw: 'ab12', value: 'ab12' },
      { raw: 'ethx', value: 'ethx' },
    ],
    invalid: ['eth', 'lo', 'vlan', 'ENI', 'abcde', 'e-1', ' eni'],
  },
  externalSnat: {
    valid: [
      { raw: 'true', value: true },
      { raw: 'TRUE', value: true },
      { raw: 'True', value: true },
      { raw: '1', value: true },
      { raw: 'false', value: false },
      { raw: 'False', value: false },
      { raw: '0', value: false },
    ],
    invalid: ['yes', 't', 'on', '2', 'true '],
  },
  excludeSnatCidrs: {
    valid: [
      { raw: '10.1.0.0/16', value: ['10.1.0.0/16'] },
      { raw: '10.1.0.0/16,192.168.0.0/24', value: ['10.1.0.0/16', '192.168.0.0/24'] },
      { raw: ' 10.1.0.0/16 , 172.16.5.9/12', value: ['10.1.0.0/16', '172.16.0.0/12'] },
      { raw: '10.1.0.0/16,10.1.0.0/16', value: ['10.1.0.0/16'] },
    ],
    invalid: ['10.1.0.0', '10.1.0.0/33', '10.1.0.0/16,', 'vpn', '10.1.0.0/16;10.2.0.0/16', '2001:db8::/32'],
  },
  randomizeSnat: {
    valid: [
      { raw: 'prng', value: 'prng' },
      { raw: 'hashrandom', value: 'hashrandom' },
      { raw: 'NONE', value: 'none' },
    ],
    invalid: ['random', 'fully-random', 'true', '1'],
  },
  cloud: {
    // Every registered cloud by its name, any case (`AWS` is `aws`), and `auto`.
    valid: [
      ...CLOUD_PLUGINS.flatMap((p) => [{ raw: p.name, value: p.name }, { raw: p.name.toUpperCase(), value: p.name }]),
      { raw: 'auto', value: 'auto' },
    ],
    invalid: [NO_SUCH_CLOUD, 'aws ', 'amazon'],
  },
  socketPath: {
    valid: [{ raw: '/tmp/nativeip/ipamd.sock', value: '/tmp/nativeip/ipamd.sock' }],
    invalid: ['run/ipamd.sock', './ipamd.sock', `/${'a'.repeat(107)}`],
  },
  checkpointPath: {
    valid: [{ raw: '/var/lib/nativeip/checkpoint.json', value: '/var/lib/nativeip/checkpoint.json' }],
    invalid: ['checkpoint.json', '~/checkpoint.json'],
  },
  logLevel: {
    valid: [
      { raw: 'debug', value: 'debug' },
      { raw: 'WARN', value: 'warn' },
      { raw: 'fatal', value: 'fatal' },
    ],
    invalid: ['verbose', 'warning', 'silent'],
  },
  logFile: {
    valid: [
      { raw: 'stderr', value: 'stderr' },
      { raw: '/var/log/nativeip.log', value: '/var/log/nativeip.log' },
    ],
    invalid: ['stdout', 'log.txt', 'STDERR'],
  },
  hostNetnsPath: {
    valid: [{ raw: '/run/netns/node1', value: '/run/netns/node1' }],
    invalid: ['node1', 'run/netns/node1'],
  },
  lockWaitMs: {
    valid: [
      { raw: '0', value: 0 },
      { raw: '40', value: 40_000 },
    ],
    invalid: ['-1', '1.5', '40s', 'soon'],
  },
  reconcileIntervalMs: {
    valid: [
      { raw: '1', value: 1000 },
      { raw: '60', value: 60_000 },
    ],
    invalid: ['0', '1.5', '2147484', '1m'],
  },
  attachTimeoutMs: {
    valid: [
      { raw: '1', value: 1000 },
      { raw: '120', value: 120_000 },
    ],
    invalid: ['0', '-1', 'soon'],
  },
};

/**
 * Each cloud's own variables (its plugin's settings), keyed by field, so a new setting of these
 * clouds without cases does not compile. A cloud not here (a new one) has its variables' cases
 * listed as to-do, not failed: add its entry to test its parsers.
 */
const CLOUD_CASES: { readonly aws: { readonly [K in keyof AwsSettings]: Cases<AwsSettings, K> }; readonly azure: { readonly [K in keyof AzureSettings]: Cases<AzureSettings, K> } } = {
  aws: {
    clusterName: {
      valid: [
        { raw: 'prod', value: 'prod' },
        { raw: 'my-cluster_1', value: 'my-cluster_1' },
        { raw: 'k8s.example.com', value: 'k8s.example.com' },
      ],
      invalid: [' prod', '-x', 'a b', 'x'.repeat(254)],
    },
    ec2Endpoint: {
      valid: [
        { raw: 'http://127.0.0.1:5000', value: 'http://127.0.0.1:5000' },
        { raw: 'https://ec2.us-east-1.amazonaws.com', value: 'https://ec2.us-east-1.amazonaws.com' },
      ],
      invalid: URL_INVALID,
    },
    imdsEndpoint: {
      valid: [{ raw: 'http://127.0.0.1:1338/', value: 'http://127.0.0.1:1338/' }],
      invalid: URL_INVALID,
    },
    region: {
      valid: [
        { raw: 'us-east-1', value: 'us-east-1' },
        { raw: 'us-gov-west-1', value: 'us-gov-west-1' },
        { raw: 'cn-north-1', value: 'cn-north-1' },
        { raw: 'ap-southeast-2', value: 'ap-southeast-2' },
      ],
      invalid: ['US-EAST-1', 'us-east', 'useast1', 'us-east-1a'],
    },
    awsNodeAddress: {
      valid: [
        { raw: '127.0.0.1:50051', value: { host: '127.0.0.1', port: 50051 } },
        { raw: 'off', value: undefined },
      ],
      invalid: ['127.0.0.1', 'localhost:50051', '127.0.0.1:0', 'on'],
    },
  },
  azure: {
    armEndpoint: {
      valid: [
        { raw: 'https://127.0.0.1:8443', value: 'https://127.0.0.1:8443' },
        { raw: 'https://management.usgovcloudapi.net', value: 'https://management.usgovcloudapi.net' },
      ],
      invalid: ['http://127.0.0.1:8443', ...URL_INVALID],
    },
    armCaBundle: {
      valid: [{ raw: '/etc/nativeip/arm-ca.pem', value: '/etc/nativeip/arm-ca.pem' }],
      invalid: ['arm-ca.pem', './ca.pem'],
    },
    imdsEndpoint: {
      valid: [
        { raw: 'http://127.0.0.1:8080', value: 'http://127.0.0.1:8080' },
        { raw: 'http://169.254.169.254', value: 'http://169.254.169.254' },
      ],
      invalid: URL_INVALID,
    },
    batchSize: {
      valid: [
        { raw: '1', value: 1 },
        { raw: '255', value: 255 },
      ],
      invalid: ['0', '256', 'all', '-3'],
    },
    clientId: {
      valid: [{ raw: '6F1C1A9E-0B8D-4C63-9A43-2D2A7F3B1C55', value: '6f1c1a9e-0b8d-4c63-9a43-2d2a7f3b1c55' }],
      invalid: ['client', '6f1c1a9e0b8d4c639a432d2a7f3b1c55', '6f1c1a9e-0b8d-4c63-9a43-2d2a7f3b1c5'],
    },
  },
};

const DEFAULTS: DaemonConfig = {
  warmEniTarget: undefined,
  warmIpTarget: undefined,
  minimumIpTarget: undefined,
  maxEni: undefined,
  prefixDelegation: false,
  warmPrefixTarget: 1,
  ipCooldownMs: 30_000,
  mtu: 9001,
  vethPrefix: 'eni',
  externalSnat: false,
  excludeSnatCidrs: [],
  randomizeSnat: 'prng',
  nodePortSupport: true,
  connmark: 0x80,
  cloud: 'auto',
  socketPath: '/run/nativeip/ipamd.sock',
  checkpointPath: '/run/nativeip/checkpoint.json',
  logLevel: 'info',
  logFile: 'stderr',
  hostNetnsPath: undefined,
  lockWaitMs: 40_000,
  reconcileIntervalMs: 60_000,
  attachTimeoutMs: 60_000,
  disableLeakedEniCleanup: false,
  eniGcIntervalMs: 300_000,
  kubernetes: 'auto',
  kubeconfig: undefined,
  nodeName: undefined,
  taintExhaustedNodes: true,
  cniConfDir: undefined,
  healthAddress: undefined,
  metricsAddress: { host: '0.0.0.0', port: 61678 },
  disableMetrics: false,
  introspectionAddress: { host: '127.0.0.1', port: 61679 },
  disableIntrospection: false,
  cloudSettings: {
    // A cloud not written out here: its settings table's fallbacks.
    ...Object.fromEntries(CLOUD_PLUGINS.map((p) => [p.name, Object.fromEntries(Object.values<{ field: string; fallback: unknown }>(p.settings as Record<string, { field: string; fallback: unknown }>).map((s) => [s.field, s.fallback]))])),
    aws: { clusterName: undefined, ec2Endpoint: undefined, imdsEndpoint: undefined, region: undefined, awsNodeAddress: { host: '127.0.0.1', port: 50051 } },
    azure: { armEndpoint: undefined, armCaBundle: undefined, imdsEndpoint: undefined, batchSize: 32, clientId: undefined },
  },
};

describe('CONFIG_VARIABLES', () => {
  it('documents every DaemonConfig field exactly once, with unique names', () => {
    const fields = CONFIG_VARIABLES.map((v) => v.field);
    const { cloudSettings, ...common } = DEFAULTS;
    const expected = [...Object.keys(common), ...Object.values(cloudSettings).flatMap((settings) => Object.keys(settings as object))];
    expect([...fields].sort()).toEqual(expected.sort());
    const names = CONFIG_VARIABLES.flatMap((v) => [v.env, ...(v.fallbackEnv === undefined ? [] : [v.fallbackEnv])]);
    expect(new Set(names).size).toBe(names.length);
  });

  it(`has no cloud named ${NO_SUCH_CLOUD} (the tests' bad NATIVEIP_CLOUD)`, () => {
    expect(CLOUD_PLUGINS.map((p) => p.name)).not.toContain(NO_SUCH_CLOUD);
  });

  it('has text for every column and is frozen', () => {
    expect(Object.isFrozen(CONFIG_VARIABLES)).toBe(true);
    for (const v of CONFIG_VARIABLES) {
      expect(v.env).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(v.allowed.length, v.env).toBeGreaterThan(0);
      expect(v.default.length, v.env).toBeGreaterThan(0);
      expect(v.description.length, v.env).toBeGreaterThan(0);
      expect(Object.isFrozen(v)).toBe(true);
    }
  });
});

describe('loadDaemonConfig: each variable', () => {
  const cloudCases: Readonly<Record<string, Readonly<Record<string, unknown>> | undefined>> = CLOUD_CASES;
  for (const variable of CONFIG_VARIABLES) {
    if (variable.cloud !== undefined && cloudCases[variable.cloud] === undefined) {
      it.todo(`${variable.env}: valid and invalid cases (cloud ${variable.cloud} has no entry in CLOUD_CASES)`);
      continue;
    }
    const cases = ((variable.cloud === undefined ? CASES[variable.field as keyof CommonConfig] : cloudCases[variable.cloud]?.[variable.field]) ?? { valid: [], invalid: [] }) as Cases<Record<string, unknown>, string>;
    /** The value the variable sets in a loaded config. */
    const valueIn = (config: DaemonConfig): unknown =>
      variable.cloud === undefined ? config[variable.field as keyof CommonConfig] : (config.cloudSettings[variable.cloud] as Record<string, unknown>)[variable.field];

    it(`${variable.env}: has at least one valid and one invalid case`, () => {
      expect(cases.valid.length).toBeGreaterThan(0);
      expect(cases.invalid.length).toBeGreaterThan(0);
    });

    for (const c of cases.valid) {
      it(`${variable.env}=${JSON.stringify(c.raw)} → ${String(c.value)}`, () => {
        const config = loadDaemonConfig({ ...c.with, [variable.env]: c.raw });
        expect(valueIn(config)).toEqual(c.value);
      });
    }

    for (const raw of cases.invalid) {
      it(`${variable.env}=${JSON.stringify(raw.slice(0, 40))} is refused, naming variable, value and what is allowed`, () => {
        const error = configError({ [variable.env]: raw });
        expect(error.code).toBe('InvalidConfig');
        expect(error.issues).toHaveLength(1);
        const [issue] = error.issues;
        expect(issue?.env).toBe(variable.env);
        const shownValue = JSON.stringify(raw.length > 80 ? raw.slice(0, 80) : raw).slice(0, -1);
        for (const text of [issue?.message ?? '', error.message]) {
          expect(text).toContain(`${variable.env}=${shownValue}`);
          expect(text).toContain(`expected ${variable.allowed}`);
        }
      });
    }
  }

  it('shows the example message from the design', () => {
    expect(configError({ WARM_IP_TARGET: 'abc' }).issues[0]?.message).toBe(
      'WARM_IP_TARGET="abc": expected a whole number ≥ 0',
    );
  });

  it('says why a value in the right shape is still refused', () => {
    expect(configError({ AWS_VPC_K8S_CNI_VETHPREFIX: 'eth' }).message).toContain('"eth" is reserved');
    expect(configError({ WARM_IP_TARGET: '99999999999999999999' }).message).toContain('larger than');
    expect(configError({ AWS_ENDPOINT_URL_EC2: 'http://a:b@127.0.0.1' }).message).toContain('credentials');
    expect(configError({ NATIVEIP_SOCKET: `/${'a'.repeat(120)}` }).message).toContain('121 bytes long');
  });

  it('shortens very long values in the message', () => {
    const error = configError({ CLUSTER_NAME: `-${'x'.repeat(500)}` });
    expect(error.message).toContain('…"');
    expect(error.message.length).toBeLessThan(400);
  });
});

describe('loadDaemonConfig: the whole environment', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('returns the documented defaults for an empty environment', () => {
    expect(loadDaemonConfig({})).toEqual(DEFAULTS);
  });

  it('treats empty values as unset', () => {
    const env = Object.fromEntries(
      CONFIG_VARIABLES.flatMap((v) => [v.env, ...(v.fallbackEnv === undefined ? [] : [v.fallbackEnv])]).map((n) => [n, '']),
    );
    expect(loadDaemonConfig(env)).toEqual(DEFAULTS);
  });

  it('returns a frozen object', () => {
    const config = loadDaemonConfig({ WARM_IP_TARGET: '3' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { warmIpTarget: number }).warmIpTarget = 9;
    }).toThrow(TypeError);
    expect(config.warmIpTarget).toBe(3);
  });

  it('reads only the object it is given, never process.env', () => {
    vi.stubEnv('WARM_IP_TARGET', 'abc');
    vi.stubEnv('NATIVEIP_SOKET', '/x');
    expect(loadDaemonConfig({}).warmIpTarget).toBeUndefined();
  });

  it('reports every problem in one error', () => {
    const error = configError({
      WARM_IP_TARGET: 'abc',
      AWS_VPC_ENI_MTU: '100000',
      NATIVEIP_CLOUD: NO_SUCH_CLOUD,
      NATIVEIP_SOKET: '/run/x.sock',
      MAX_ENIS: '3',
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ConfigError');
    expect(error.retryable).toBe(false);
    expect(error.issues.map((i) => i.env)).toEqual([
      'WARM_IP_TARGET',
      'AWS_VPC_ENI_MTU',
      'NATIVEIP_CLOUD',
      'MAX_ENIS',
      'NATIVEIP_SOKET',
    ]);
    expect(error.message).toMatch(/^invalid daemon configuration \(5 problems\):\n/);
    for (const issue of error.issues) expect(error.message).toContain(issue.message);
  });

  it('reads AWS_DEFAULT_REGION when AWS_REGION is unset, and names the one it read', () => {
    expect(awsOf(loadDaemonConfig({ AWS_DEFAULT_REGION: 'eu-west-1' })).region).toBe('eu-west-1');
    expect(awsOf(loadDaemonConfig({ AWS_REGION: '', AWS_DEFAULT_REGION: 'eu-west-1' })).region).toBe('eu-west-1');
    expect(awsOf(loadDaemonConfig({ AWS_REGION: 'us-west-2', AWS_DEFAULT_REGION: 'eu-west-1' })).region).toBe(
      'us-west-2',
    );
    const error = configError({ AWS_DEFAULT_REGION: 'Europe' });
    expect(error.issues[0]?.env).toBe('AWS_DEFAULT_REGION');
    expect(error.message).toContain('AWS_DEFAULT_REGION="Europe": expected an AWS region name');
  });
});

describe('loadDaemonConfig: combinations', () => {
  const NO_WARM = 'no warm target: the pool would grow only once a pod is already waiting';

  it.each<[string, Env]>([
    ['all three 0', { WARM_ENI_TARGET: '0', WARM_IP_TARGET: '0', MINIMUM_IP_TARGET: '0' }],
    ['WARM_IP_TARGET=0, MINIMUM_IP_TARGET unset', { WARM_ENI_TARGET: '0', WARM_IP_TARGET: '0' }],
    ['MINIMUM_IP_TARGET=0, WARM_IP_TARGET unset', { WARM_ENI_TARGET: '0', MINIMUM_IP_TARGET: '0' }],
  ])('refuses IP mode with no warm target: %s', (_label, env) => {
    const error = configError(env);
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.env).toBe('WARM_ENI_TARGET');
    expect(error.message).toContain(NO_WARM);
    expect(error.message).toContain('the AWS VPC CNI reads 0 here as unset');
  });

  it('says which of the IP targets were 0 and which unset', () => {
    expect(configError({ WARM_ENI_TARGET: '0', WARM_IP_TARGET: '0' }).message).toContain(
      'WARM_ENI_TARGET=0 with WARM_IP_TARGET=0 and MINIMUM_IP_TARGET unset',
    );
  });

  it.each<Env>([
    { WARM_ENI_TARGET: '0' },
    { WARM_ENI_TARGET: '0', WARM_IP_TARGET: '1' },
    { WARM_ENI_TARGET: '0', MINIMUM_IP_TARGET: '4' },
    { WARM_ENI_TARGET: '0', WARM_IP_TARGET: '0', MINIMUM_IP_TARGET: '4' },
    { WARM_IP_TARGET: '0', MINIMUM_IP_TARGET: '0' },
  ])('accepts %o', (env) => {
    expect(() => loadDaemonConfig(env)).not.toThrow();
  });

  it('does not judge a combination whose parts are already invalid', () => {
    const error = configError({ WARM_ENI_TARGET: '0', WARM_IP_TARGET: 'abc' });
    expect(error.issues.map((i) => i.env)).toEqual(['WARM_IP_TARGET']);
  });

  it('refuses one path used for two files', () => {
    const error = configError({ NATIVEIP_SOCKET: '/run/n/x', NATIVEIP_CHECKPOINT: '/run/n/x' });
    expect(error.message).toContain('NATIVEIP_SOCKET and NATIVEIP_CHECKPOINT are both "/run/n/x"');
    expect(configError({ NATIVEIP_LOG_FILE: '/run/nativeip/checkpoint.json' }).issues[0]?.env).toBe(
      'NATIVEIP_CHECKPOINT',
    );
  });
});

describe('loadDaemonConfig: names it does not read', () => {
  it.each<[string, string]>([
    ['NATIVEIP_SOKET', 'did you mean NATIVEIP_SOCKET?'],
    ['NATIVEIP_LOGLEVEL', 'did you mean NATIVEIP_LOG_LEVEL?'],
    ['NATIVEIP_CHECKPIONT', 'did you mean NATIVEIP_CHECKPOINT?'],
    ['nativeip_socket', '(names are case-sensitive); did you mean NATIVEIP_SOCKET?'],
    ['NATIVEIP_INTROSPECTION_SOCKET', 'the NATIVEIP_ variables are NATIVEIP_ATTACH_TIMEOUT, '],
    ['NATIVEIP_BANANA', 'the NATIVEIP_ variables are'],
    ['WARM_IP_TARGTE', 'did you mean WARM_IP_TARGET?'],
    ['WARM_ENI_TARGETS', 'did you mean WARM_ENI_TARGET?'],
    ['MINIMUM_IP_TAGRET', 'did you mean MINIMUM_IP_TARGET?'],
    ['MAX_ENIS', 'did you mean MAX_ENI?'],
    ['IP_COOLDOWN_PERIDO', 'did you mean IP_COOLDOWN_PERIOD?'],
    ['AWS_VPC_K8S_CNI_EXTERNAL_SNAT', 'did you mean AWS_VPC_K8S_CNI_EXTERNALSNAT?'],
    ['AWS_VPC_ENI_MTUS', 'did you mean AWS_VPC_ENI_MTU?'],
    ['warm_ip_target', '(names are case-sensitive); did you mean WARM_IP_TARGET?'],
  ])('%s is an error: %s', (name, text) => {
    const error = configError({ [name]: '5' });
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.env).toBe(name);
    expect(error.issues[0]?.message).toContain(`${name}: not a variable nativeip reads`);
    expect(error.message).toContain(text);
  });

  it('leaves other software’s variables and AWS settings it knows it ignores alone', () => {
    const env: Env = {
      PATH: '/usr/bin:/bin',
      HOME: '/root',
      HOSTNAME: 'node-1',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_SESSION_TOKEN: 'token',
      AWS_PROFILE: 'default',
      AWS_DEFAULT_OUTPUT: 'json',
      KUBERNETES_SERVICE_HOST: '10.100.0.1',
      MY_NODE_NAME: 'node-1',
      WARM_PREFIX_TARGET: '1',
      ENABLE_PREFIX_DELEGATION: 'true',
      AWS_VPC_K8S_CNI_LOGLEVEL: 'DEBUG',
      AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'false',
      AWS_VPC_K8S_CNI_SOMETHING_NEW_AND_LONG: 'x',
      MAX_ENI_ATTACH_RETRIES_FOR_SOMETHING: '3',
      NATIVEIP_SOKET: '',
    };
    expect(() => loadDaemonConfig(env)).not.toThrow();
  });

  it('lists AWS VPC CNI settings that have no effect, for a warning', () => {
    expect(
      findIgnoredVpcCniVariables({ ENABLE_POD_ENI: 'false', AWS_VPC_K8S_CNI_LOGLEVEL: 'DEBUG', WARM_PREFIX_TARGET: '1' }),
    ).toEqual([{ env: 'AWS_VPC_K8S_CNI_LOGLEVEL', value: 'DEBUG', note: expect.stringContaining('use NATIVEIP_LOG_LEVEL') }]);
    expect(findIgnoredVpcCniVariables({ WARM_IP_TARGET: '1' })).toEqual([]);
    expect(findIgnoredVpcCniVariables({ AWS_VPC_CNI_NODE_PORT_SUPPORT: 'false', AWS_VPC_K8S_CNI_CONNMARK: '0x40' })).toEqual([]);
  });

  it('reads the node-port variables under the AWS VPC CNI names, and suggests them for near misses', () => {
    const config = loadDaemonConfig({ AWS_VPC_CNI_NODE_PORT_SUPPORT: 'false', AWS_VPC_K8S_CNI_CONNMARK: '0x40' });
    expect([config.nodePortSupport, config.connmark]).toEqual([false, 0x40]);
    expect(() => loadDaemonConfig({ AWS_VPC_K8S_CNI_CONMARK: '0x40' })).toThrow(/did you mean AWS_VPC_K8S_CNI_CONNMARK\?/);
  });
});

describe('prefix-mode warm targets', () => {
  it.each<[string, Env, string | undefined]>([
    ['WARM_PREFIX_TARGET=0 alone is refused', { ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '0' }, 'WARM_PREFIX_TARGET=0'],
    ['zero IP targets are refused', { ENABLE_PREFIX_DELEGATION: 'true', WARM_IP_TARGET: '0' }, 'no warm target'],
    ['WARM_PREFIX_TARGET=0 without prefix delegation is ignored', { WARM_PREFIX_TARGET: '0' }, undefined],
    ['an IP target overrides WARM_PREFIX_TARGET=0', { ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '0', WARM_IP_TARGET: '3' }, undefined],
  ])('%s', (_name, env, problem) => {
    if (problem === undefined) expect(() => loadDaemonConfig(env)).not.toThrow();
    else expect(() => loadDaemonConfig(env)).toThrow(problem);
  });
});

describe('editDistance', () => {
  it.each<[string, string, number]>([
    ['TARGET', 'TARGET', 0],
    ['TARGTE', 'TARGET', 1],
    ['', 'abc', 3],
    ['abc', '', 3],
    ['kitten', 'sitting', 3],
    ['MAX_ENIS', 'MAX_ENI', 1],
    ['WARM_ENI_TARGET', 'WARM_IP_TARGET', 3],
  ])('%s → %s is %i', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });
});

describe('the chosen cloud\'s defaults', () => {
  const pluginWithMtu = (defaultMtu: number) => ({ ...CLOUD_PLUGINS[0]!, defaultMtu });
  it('the MTU is the cloud\'s when AWS_VPC_ENI_MTU is unset or empty, the operator\'s otherwise', () => {
    expect(withCloudDefaults(loadDaemonConfig({}), pluginWithMtu(1500), {}).mtu).toBe(1500);
    expect(withCloudDefaults(loadDaemonConfig({ AWS_VPC_ENI_MTU: '' }), pluginWithMtu(1500), { AWS_VPC_ENI_MTU: '' }).mtu).toBe(1500);
    const env = { AWS_VPC_ENI_MTU: '9001' };
    expect(withCloudDefaults(loadDaemonConfig(env), pluginWithMtu(1500), env).mtu).toBe(9001);
  });
});
