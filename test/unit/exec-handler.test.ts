import { describe, expect, it } from 'vitest';
import { createExecHandler, type InProcessHandlers } from '../../src/ipamd/service/exec-handler.js';
import { RpcServiceError } from '../../src/rpc/errors.js';

const addResult = {
  address: '10.0.0.11/32',
  gateway: '169.254.1.1',
  mtu: 9001,
  interfaceId: 'eni-0',
  hostInterface: { name: 'eni0123456789a', mac: '02:00:00:00:00:01' },
  podInterface: { name: 'eth0', mac: '02:00:00:00:00:02', sandbox: '/run/netns/p1' },
};

function handlers(overrides: Partial<InProcessHandlers> = {}): InProcessHandlers {
  return {
    add: async () => addResult,
    del: async () => ({}),
    check: async () => ({ ok: true, problems: [] }),
    gc: async () => ({ released: 0 }),
    status: async () => {
      throw new Error('not used');
    },
    ...overrides,
  };
}

const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/p1', CNI_IFNAME: 'eth0' };
const stdin = (config: object) => Buffer.from(JSON.stringify(config)).toString('base64');
const decode = (b64: string) => JSON.parse(Buffer.from(b64, 'base64').toString('utf8')) as Record<string, unknown>;

describe('exec handler (the plugin logic run in the daemon for the native shim)', () => {
  it('prints the CNI result of an ADD', async () => {
    const exec = createExecHandler(handlers());
    const out = await exec({ env, stdinBase64: stdin({ cniVersion: '1.0.0', name: 'nativeip', type: 'nativeip-cni' }) });
    expect(out.exitCode).toBe(0);
    expect(decode(out.stdoutBase64)).toMatchObject({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.11/32', gateway: '169.254.1.1' }] });
  });

  it('keeps the daemon error code and reason, as a remote call would', async () => {
    const exec = createExecHandler(handlers({ add: async () => { throw new RpcServiceError('PoolExhausted', 'no free address: subnet subnet-1 has no free addresses'); } }));
    const out = await exec({ env, stdinBase64: stdin({ cniVersion: '1.0.0', name: 'nativeip', type: 'nativeip-cni' }) });
    expect(out.exitCode).toBe(1);
    expect(decode(out.stdoutBase64)).toMatchObject({ code: 100, msg: expect.stringMatching(/subnet subnet-1 has no free addresses/) });
  });

  it('reports malformed stdin as code 6', async () => {
    const exec = createExecHandler(handlers());
    const out = await exec({ env, stdinBase64: Buffer.from('{"cniVersion": ').toString('base64') });
    expect(decode(out.stdoutBase64)).toMatchObject({ code: 6 });
  });
});
