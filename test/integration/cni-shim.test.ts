/**
 * The native plugin shim (dist/bin/nativeip-cni): what it answers on its own — VERSION, bad
 * input and an unreachable daemon — must match the daemon-side plugin logic.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SUPPORTED_VERSIONS, LATEST_VERSION } from '../../src/cni/plugin/versions.js';

const SHIM = join(import.meta.dirname, '../../dist/bin/nativeip-cni');
const missing = !existsSync(SHIM);
if (missing) console.warn(`skipping shim tests: ${SHIM} not built (npm run build)`);

function run(command: string, stdin: string, extraEnv: Record<string, string> = {}) {
  const out = spawnSync(SHIM, [], { input: stdin, env: { CNI_COMMAND: command, CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/none', CNI_IFNAME: 'eth0', ...extraEnv } });
  return { code: out.status, stdout: out.stdout.toString() };
}

const config = (extra: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '1.0.0', name: 'nativeip', type: 'nativeip-cni', socketPath: '/nonexistent/ipamd.sock', ...extra });

describe.skipIf(missing)('nativeip-cni shim', () => {
  it('answers VERSION itself, with the same versions as the plugin logic', () => {
    const out = run('VERSION', '');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ cniVersion: LATEST_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] });
  });

  it.each([
    ['ADD', 11, /try again later: nativeip-ipamd is not reachable at \/nonexistent\/ipamd\.sock/],
    ['CHECK', 11, /try again later/],
    ['GC', 11, /try again later/],
    ['STATUS', 50, /plugin not available/],
  ])('daemon unreachable: %s → code %i naming the socket', (command, code, msg) => {
    const out = run(command, config());
    expect(out.code).toBe(1);
    const error = JSON.parse(out.stdout) as { cniVersion: string; code: number; msg: string };
    expect(error).toMatchObject({ cniVersion: '1.0.0', code });
    expect(error.msg).toMatch(msg);
  });

  it('daemon unreachable on DEL: succeeds silently', () => {
    expect(run('DEL', config())).toEqual({ code: 0, stdout: '' });
  });

  it.each([
    ['truncated', '{"cniVersion": "1.0.0", "name": '],
    ['trailing garbage', '{"a":1} x'],
    ['not an object', '[1,2]'],
    ['bad escape', '{"a":"\\q"}'],
  ])('malformed stdin (%s) is code 6 even without a daemon', (_name, stdin) => {
    const out = run('ADD', stdin);
    expect(out.code).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ code: 6 });
  });

  it('accepts valid JSON with every kind of value', () => {
    const out = run('ADD', config({ a: [1, -2.5e3, true, false, null, 'é\n', { b: {} }] }));
    expect(JSON.parse(out.stdout)).toMatchObject({ code: 11 });
  });
});
