import { describe, expect, it } from 'vitest';
import { ConfigError, loadDaemonConfig, readDaemonEnvironment } from '../../src/ipamd/config/config.js';
import { KNOWN_NAMES } from '../../src/ipamd/config/config-variables.js';
import { VPC_CNI_VARIABLES, judgeVpcCniVariables, type VpcCniVariable } from '../../src/ipamd/config/vpc-cni-variables.js';
import { vpcCniBoolean } from '../../src/core/config/config-parsers.js';
import type { Env } from '../../src/core/config/config-variable.js';

const findIgnoredVpcCniVariables = (env: Env) => judgeVpcCniVariables(env).ignored;
const findRefusedVpcCniVariables = (env: Env) => judgeVpcCniVariables(env).refused;
const findMatchingVpcCniVariables = (env: Env) => judgeVpcCniVariables(env).matching;

function configError(env: Env): ConfigError {
  try {
    loadDaemonConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`no ConfigError for ${JSON.stringify(env)}`);
}

const ofKind = (kind: VpcCniVariable['class']['kind']) => VPC_CNI_VARIABLES.filter((v) => v.class.kind === kind);
const refused = ofKind('refused');
const ignored = ofKind('ignored');
const implemented = ofKind('implemented');
const example = (v: VpcCniVariable): { on: string; off?: string } => {
  if (v.example === undefined) throw new Error(`${v.name} has no example`);
  return v.example;
};

describe('the AWS VPC CNI variable table', () => {
  it('classifies every variable exactly once', () => {
    const names = VPC_CNI_VARIABLES.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    expect(refused.length + ignored.length + implemented.length).toBe(names.length);
    // The variables the issue names are all there.
    for (const name of [
      'AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG', 'ENI_CONFIG_LABEL_DEF', 'ENI_CONFIG_ANNOTATION_DEF', 'ENABLE_IPv6', 'ENABLE_IPv4',
      'ENABLE_POD_ENI', 'ENABLE_SUBNET_DISCOVERY', 'ENABLE_V6_EGRESS', 'POD_SECURITY_GROUP_ENFORCING_MODE',
      'NETWORK_POLICY_ENFORCING_MODE', 'DISABLE_TCP_EARLY_DEMUX', 'DISABLE_METRICS', 'DISABLE_INTROSPECTION', 'INTROSPECTION_BIND_ADDRESS',
    ]) {
      expect(names).toContain(name);
    }
  });

  it.each(implemented.map((v) => [v.name]))('%s is implemented: read by nativeip, neither refused nor warned', (name) => {
    expect(KNOWN_NAMES.has(name)).toBe(true);
    const judged = judgeVpcCniVariables({ [name]: '1' });
    expect([judged.refused, judged.ignored, judged.matching]).toEqual([[], [], []]);
  });

  it('no refused or ignored variable is one nativeip reads', () => {
    for (const v of [...refused, ...ignored]) expect(KNOWN_NAMES.has(v.name), v.name).toBe(false);
  });

  it.each(refused.map((v) => [v.name, v]))('%s turned on stops the daemon with one line naming it, the value, why and what to do', (name, v) => {
    const { on } = example(v);
    const error = configError({ [name]: on });
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.env).toBe(name);
    const message = error.issues[0]?.message ?? '';
    expect(message).toContain(`${name}=${JSON.stringify(on)}: refused`);
    expect(message).not.toContain('\n');
    expect(message).toMatch(/nativeip/);
    expect(message).toMatch(/; (set|keep|remove)|or remove it/);
    expect(findIgnoredVpcCniVariables({ [name]: on })).toEqual([]);
  });

  it.each(refused.map((v) => [v.name, v]))('%s kept off is accepted, without a warning', (name, v) => {
    const { off } = example(v);
    expect(off).toBeDefined();
    const env = { [name]: off };
    expect(() => loadDaemonConfig(env)).not.toThrow();
    expect(findIgnoredVpcCniVariables(env)).toEqual([]);
    expect(findMatchingVpcCniVariables(env)).toEqual([{ env: name, value: off }]);
  });

  it.each(refused.filter((v) => v.class.kind === 'refused' && 'bool' in v.class.on).map((v) => [v.name, v]))(
    '%s with a value that is not a boolean is refused: aws-node would fall back to its default, nativeip cannot tell',
    (name, v) => {
      const error = configError({ [name]: 'yes' });
      expect(error.issues.map((i) => i.env)).toEqual([name]);
      expect(error.message).toContain(`${name}="yes": refused: not a boolean`);
      expect(error.message).toContain(`set it to ${example(v).off ?? ''} or remove it`);
    },
  );

  it('reads booleans as aws-node does (Go strconv.ParseBool)', () => {
    for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) expect(vpcCniBoolean(t)).toBe(true);
    for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) expect(vpcCniBoolean(f)).toBe(false);
    for (const x of ['yes', 'on', 'tRUE', '']) expect(vpcCniBoolean(x)).toBeUndefined();
    expect(() => loadDaemonConfig({ ENABLE_POD_ENI: 'True' })).toThrow(/ENABLE_POD_ENI="True": refused/);
    expect(() => loadDaemonConfig({ ENABLE_IPv4: '0' })).toThrow(/ENABLE_IPv4="0": refused/);
  });

  it.each(ignored.map((v) => [v.name, v]))('%s is accepted with a warning saying why it does not matter or what to use', (name, v) => {
    const { on, off } = example(v);
    expect(() => loadDaemonConfig({ [name]: on })).not.toThrow();
    const warned = findIgnoredVpcCniVariables({ [name]: on });
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ env: name, value: on });
    expect(warned[0]?.note.length).toBeGreaterThan(10);
    if (off !== undefined) {
      expect(findIgnoredVpcCniVariables({ [name]: off })).toEqual([]);
      expect(findMatchingVpcCniVariables({ [name]: off })).toEqual([{ env: name, value: off }]);
    }
  });

  it('POD_MTU is quiet only when it equals the MTU pods get anyway', () => {
    expect(findIgnoredVpcCniVariables({ POD_MTU: '9001' })).toEqual([]);
    expect(findIgnoredVpcCniVariables({ POD_MTU: '1500', AWS_VPC_ENI_MTU: '1500' })).toEqual([]);
    expect(findIgnoredVpcCniVariables({ POD_MTU: '1500', AWS_VPC_ENI_MTU: '9001' }).map((w) => w.env)).toEqual(['POD_MTU']);
  });

  it('empty values are unset and not judged', () => {
    const env = Object.fromEntries(VPC_CNI_VARIABLES.map((v) => [v.name, '']));
    expect(judgeVpcCniVariables(env)).toEqual({ refused: [], ignored: [], matching: [] });
    expect(() => loadDaemonConfig(env)).not.toThrow();
  });

  it('the typo detector still suggests names, and leaves the table\'s own names alone', () => {
    expect(() => loadDaemonConfig({ WARM_IP_TARGTE: '5' })).toThrow(/WARM_IP_TARGTE: not a variable nativeip reads; did you mean WARM_IP_TARGET\?/);
    expect(() => loadDaemonConfig({ AWS_VPC_K8S_CNI_EXTERNALSANT: 'true' })).toThrow(/did you mean AWS_VPC_K8S_CNI_EXTERNALSNAT\?/);
    const familyNames = VPC_CNI_VARIABLES.filter((v) => v.class.kind === 'ignored' && /^(AWS_VPC_|WARM_|MINIMUM_|MAX_ENI|IP_COOLDOWN)/.test(v.name));
    expect(familyNames.length).toBeGreaterThan(3);
    for (const v of familyNames) expect(() => loadDaemonConfig({ [v.name]: example(v).on }), v.name).not.toThrow();
  });
});

/** The environment of aws-node v1.19 as its manifest / the EKS add-on ships it (both containers). */
const AWS_NODE_V1_19: Env = {
  // aws-vpc-cni-init
  DISABLE_TCP_EARLY_DEMUX: 'false',
  ENABLE_IPv6: 'false',
  // aws-node
  ADDITIONAL_ENI_TAGS: '{}',
  ANNOTATE_POD_IP: 'false',
  AWS_VPC_CNI_NODE_PORT_SUPPORT: 'true',
  AWS_VPC_ENI_MTU: '9001',
  AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'false',
  AWS_VPC_K8S_CNI_EXTERNALSNAT: 'false',
  AWS_VPC_K8S_CNI_LOGLEVEL: 'DEBUG',
  AWS_VPC_K8S_CNI_LOG_FILE: '/host/var/log/aws-routed-eni/ipamd.log',
  AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'prng',
  AWS_VPC_K8S_CNI_VETHPREFIX: 'eni',
  AWS_VPC_K8S_PLUGIN_LOG_FILE: '/var/log/aws-routed-eni/plugin.log',
  AWS_VPC_K8S_PLUGIN_LOG_LEVEL: 'DEBUG',
  CLUSTER_ENDPOINT: 'https://0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com',
  CLUSTER_NAME: 'my-cluster',
  DISABLE_INTROSPECTION: 'false',
  DISABLE_METRICS: 'false',
  DISABLE_NETWORK_RESOURCE_PROVISIONING: 'false',
  ENABLE_IPv4: 'true',
  ENABLE_POD_ENI: 'false',
  ENABLE_PREFIX_DELEGATION: 'false',
  ENABLE_SUBNET_DISCOVERY: 'true',
  NETWORK_POLICY_ENFORCING_MODE: 'standard',
  VPC_CNI_VERSION: 'v1.19.2',
  VPC_ID: 'vpc-0123456789abcdef0',
  WARM_ENI_TARGET: '1',
  WARM_PREFIX_TARGET: '1',
  MY_NODE_NAME: 'ip-192-168-4-12.us-west-2.compute.internal',
  // What the kubelet and the pod add.
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOSTNAME: 'ip-192-168-4-12.us-west-2.compute.internal',
  KUBERNETES_SERVICE_HOST: '10.100.0.1',
  KUBERNETES_SERVICE_PORT: '443',
  AWS_REGION: 'us-west-2',
  AWS_STS_REGIONAL_ENDPOINTS: 'regional',
};

describe('the whole environment of a stock aws-node v1.19', () => {
  it('starts, and one start says everything about it: nothing refused, what is ignored and why, what is kept off', () => {
    const config = loadDaemonConfig(AWS_NODE_V1_19);
    // The daemon judges the table once, with its config: refusals became issues, the rest it logs.
    expect(readDaemonEnvironment(AWS_NODE_V1_19).vpcCni).toEqual(judgeVpcCniVariables(AWS_NODE_V1_19));
    expect([config.warmEniTarget, config.mtu, config.vethPrefix, config.randomizeSnat, config.nodePortSupport]).toEqual([1, 9001, 'eni', 'prng', true]);
    expect(findRefusedVpcCniVariables(AWS_NODE_V1_19)).toEqual([]);
    expect(findIgnoredVpcCniVariables(AWS_NODE_V1_19).map((w) => w.env)).toEqual([
      'ENABLE_SUBNET_DISCOVERY',
      'AWS_VPC_K8S_CNI_LOGLEVEL',
      'AWS_VPC_K8S_CNI_LOG_FILE',
      'AWS_VPC_K8S_PLUGIN_LOG_FILE',
      'AWS_VPC_K8S_PLUGIN_LOG_LEVEL',
      'CLUSTER_ENDPOINT',
      'VPC_ID',
      'VPC_CNI_VERSION',
    ]);
    expect(findMatchingVpcCniVariables(AWS_NODE_V1_19).map((m) => `${m.env}=${m.value}`)).toEqual([
      'AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=false',
      'ENABLE_POD_ENI=false',
      'ENABLE_IPv6=false',
      'ENABLE_IPv4=true',
      'DISABLE_NETWORK_RESOURCE_PROVISIONING=false',
      'NETWORK_POLICY_ENFORCING_MODE=standard',
      'DISABLE_TCP_EARLY_DEMUX=false',
      'ADDITIONAL_ENI_TAGS={}',
      'ANNOTATE_POD_IP=false',
    ]);
    // Every aws-node variable in it is accounted for: read, warned or kept off.
    const accounted = new Set([
      ...[...KNOWN_NAMES],
      ...findIgnoredVpcCniVariables(AWS_NODE_V1_19).map((w) => w.env),
      ...findMatchingVpcCniVariables(AWS_NODE_V1_19).map((m) => m.env),
    ]);
    const tableNames = new Set(VPC_CNI_VARIABLES.map((v) => v.name));
    for (const name of Object.keys(AWS_NODE_V1_19).filter((n) => tableNames.has(n))) expect(accounted.has(name), name).toBe(true);
  });

  it('with the features nativeip lacks turned on, one start lists every refusal (and every typo) at once, and exits 2', () => {
    const env: Env = {
      ...AWS_NODE_V1_19,
      AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true',
      ENI_CONFIG_LABEL_DEF: 'topology.kubernetes.io/zone',
      ENABLE_POD_ENI: 'true',
      POD_SECURITY_GROUP_ENFORCING_MODE: 'standard',
      ENABLE_IPv6: 'true',
      ENABLE_IPv4: 'false',
      ENABLE_PREFIX_DELEGATION: 'true',
      WARM_IP_TARGTE: '5',
    };
    const error = configError(env);
    expect(error.code).toBe('InvalidConfig');
    expect(error.issues.map((i) => i.env)).toEqual([
      'AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG',
      'ENABLE_POD_ENI',
      'ENABLE_IPv6',
      'ENABLE_IPv4',
      'WARM_IP_TARGTE',
    ]);
    expect(error.message).toMatch(/^invalid daemon configuration \(5 problems\):\n/);
    expect(error.message).toContain('AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG="true": refused: custom networking');
    // The settings that only matter with a refused one are warned about, for when it is removed.
    expect(findIgnoredVpcCniVariables(env).map((w) => w.env)).toEqual(
      expect.arrayContaining(['ENI_CONFIG_LABEL_DEF', 'POD_SECURITY_GROUP_ENFORCING_MODE']),
    );
  });
});
