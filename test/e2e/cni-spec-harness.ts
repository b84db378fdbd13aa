/**
 * A CNI spec harness: drives any plugin binary through every verb and its edge cases the way
 * libcni does (CNI_* environment, the network config on stdin, the plugin run inside the
 * namespace it treats as the host). Parameterised by a {@link PluginUnderTest}; where plugins
 * legitimately differ, the difference is a field of {@link SpecExpectations} whose doc cites the
 * spec (CNI SPEC.md v1.1.0).
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPodNetns, deletePodNetns } from '../../src/demo/pods.js';
import { execInNetns } from '../../src/emulator/fabric/index.js';

export const SPEC_VERSIONS = ['0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

/** How a plugin may legitimately differ from another on a case the spec leaves open. */
export interface SpecExpectations {
  /**
   * ADD again for a key already added. SPEC "General considerations": "A runtime must not call
   * ADD twice (without a corresponding DEL) for the same (network name, container id, name of
   * the interface inside the container)", so the outcome is the plugin's: rebuild with the same
   * address, or refuse. Either way the first attachment must survive (checked by the harness).
   */
  readonly repeatedAdd: 'same-address' | 'error';
  /**
   * Whether CHECK notices the host route to the pod gone. SPEC "CHECK": the plugin *should*
   * report resources not tracked in the Result (the host route is not in it) that are missing.
   */
  readonly checkNoticesHostRoute: boolean;
  /** CNI code for CHECK without prevResult (SPEC "CHECK": the runtime must include prevResult). */
  readonly checkWithoutPrevResultCode: number;
  /**
   * What GC does. SPEC "GC": the plugin "should remove as many stale resources as possible" and
   * "may assume that the isolation domain (e.g. network namespace) has been deleted"; libcni
   * first DELs every cached attachment not in the list, so a plugin without GC still leaks
   * nothing under a libcni runtime. `no-op`: the plugin does not implement GC (skel answers 0).
   * Otherwise: whether a stale attachment's interfaces go too, and what a config without
   * `cni.dev/valid-attachments` (which the runtime must send) does: `releases-all` treats it as
   * an empty list, `{ code }` refuses with that CNI code.
   */
  readonly gc:
    | 'no-op'
    | { readonly removesInterfaces: boolean; readonly withoutList: 'releases-all' | { readonly code: number } };
  /**
   * Whether ADD keeps a previous plugin's interfaces, IPs, routes and DNS from prevResult.
   * SPEC "Chained plugins": only plugins meant to run after another must merge prevResult.
   */
  readonly keepsPrevResultOnAdd: boolean;
}

/** A plugin and how to look at what it leaves behind. */
export interface PluginUnderTest {
  readonly label: string;
  /** The plugin executable. */
  readonly binary: string;
  /** CNI_PATH (delegated IPAM plugins are found here). */
  readonly cniPath: string;
  /** Namespace name the plugin runs in, i.e. its "host". */
  readonly hostNetns: string;
  /** Prefix for the pod namespaces this suite creates. */
  readonly podPrefix: string;
  /** The network config for `cniVersion`, with name and type. */
  config(cniVersion: string): Record<string, unknown>;
  /** Whether the plugin still holds an address for the attachment. */
  isAllocated(containerId: string, ifName: string): Promise<boolean>;
  readonly expect: SpecExpectations;
}

/** Host damage that only one plugin sets up (e.g. a policy rule), for an extra CHECK case. */
export interface HostTampering {
  /** What is broken, e.g. `the to-pod rule deleted`. */
  readonly what: string;
  /** Breaks it in the plugin's host namespace for the pod address `podIp`. */
  apply(plugin: PluginUnderTest, podIp: string): Promise<unknown>;
  /** A pattern the CHECK error message must match. */
  readonly message: RegExp;
}

export interface SpecSuiteOptions {
  /** Runs in beforeAll: builds the plugin's world and describes it. */
  readonly start: () => Promise<PluginUnderTest>;
  /** Runs in afterAll, after the suite's pods are deleted. */
  readonly stop: () => Promise<void>;
  readonly extraTampering?: readonly HostTampering[];
}

export interface Invocation {
  readonly command: string;
  readonly containerId?: string;
  readonly ifName?: string;
  readonly netns?: string;
  /** The config object, or raw text (for malformed input). */
  readonly stdin: Record<string, unknown> | string;
  readonly env?: Readonly<Record<string, string>>;
}

export interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CniErrorOut {
  readonly cniVersion?: string;
  readonly code: number;
  readonly msg: string;
  readonly details?: string;
}

export interface AddOut {
  readonly cniVersion: string;
  readonly interfaces?: { name: string; mac?: string; sandbox?: string }[];
  readonly ips: { address: string; version?: string; interface?: number; gateway?: string }[];
  readonly routes?: { dst: string; gw?: string }[];
  readonly dns?: Record<string, unknown>;
}

/** Runs the plugin once like libcni: env + stdin, inside the plugin's host namespace. */
export function invoke(plugin: PluginUnderTest, call: Invocation): Promise<Outcome> {
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: call.command,
    CNI_PATH: plugin.cniPath,
    ...(call.containerId === undefined ? {} : { CNI_CONTAINERID: call.containerId }),
    ...(call.ifName === undefined ? {} : { CNI_IFNAME: call.ifName }),
    ...(call.netns === undefined ? {} : { CNI_NETNS: call.netns }),
    ...call.env,
  };
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', plugin.hostNetns, plugin.binary], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    // A plugin may exit without reading stdin (VERSION, an early refusal): that is not a harness error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(typeof call.stdin === 'string' ? call.stdin : JSON.stringify(call.stdin));
  });
}

/** The error JSON of a failed call; fails the test when the call succeeded or printed no error. */
export function cniError(outcome: Outcome): CniErrorOut {
  expect(outcome.code, `expected a failure, got exit 0 with ${outcome.stdout}`).not.toBe(0);
  const body = JSON.parse(outcome.stdout) as CniErrorOut;
  expect(typeof body.code, outcome.stdout).toBe('number');
  expect(typeof body.msg, outcome.stdout).toBe('string');
  return body;
}

function ok(outcome: Outcome, what: string): void {
  expect(outcome.code, `${what}: ${outcome.stdout}${outcome.stderr}`).toBe(0);
}

/** A pod namespace and one attachment in it. */
interface Pod {
  readonly name: string;
  readonly netns: string;
  readonly containerId: string;
  readonly ifName: string;
}

/** The pod's address on `ifName` from an ADD result, without its prefix length. */
export function podIp(result: AddOut, pod: { netns: string; ifName: string }): string {
  const index = result.interfaces?.findIndex((i) => i.name === pod.ifName && i.sandbox === pod.netns) ?? -1;
  const ip = result.ips.find((i) => i.interface === index) ?? result.ips[0];
  if (ip === undefined) throw new Error(`no IP in ${JSON.stringify(result)}`);
  return ip.address.replace(/\/\d+$/, '');
}

/** Host-side veth, routes and rules of a pod address in the plugin's host namespace. */
export async function hostObjects(plugin: PluginUnderTest, result: AddOut, ip: string): Promise<string[]> {
  const hostIfs = (result.interfaces ?? []).filter((i) => i.sandbox === undefined || i.sandbox === '').map((i) => i.name);
  const ns = plugin.hostNetns;
  const [links, routes, rules] = await Promise.all([
    execInNetns(ns, ['ip', '-o', 'link', 'show']),
    execInNetns(ns, ['ip', '-4', 'route', 'show', 'table', 'all']),
    execInNetns(ns, ['ip', '-4', 'rule', 'show']),
  ]);
  const re = new RegExp(`(^|\\s)${ip.replace(/\./g, '\\.')}(/32)?(\\s|$)`);
  return [
    ...links.stdout.split('\n').filter((l) => hostIfs.some((n) => l.includes(` ${n}@`) || l.includes(` ${n}:`))).map((l) => `link ${l.split(':')[1]?.trim() ?? l}`),
    ...routes.stdout.split('\n').filter((l) => re.test(l)).map((l) => `route ${l}`),
    ...rules.stdout.split('\n').filter((l) => re.test(l)).map((l) => `rule ${l}`),
  ];
}

/** Registers the whole suite for one plugin. `start` runs in beforeAll, `stop` in afterAll. */
export function specSuite(label: string, options: SpecSuiteOptions): void {
  const { start, stop } = options;
  describe(`CNI spec harness: ${label}`, () => {
    let plugin: PluginUnderTest;
    const pods: Pod[] = [];
    let next = 0;

    beforeAll(async () => {
      plugin = await start();
    }, 240_000);

    afterAll(async () => {
      for (const pod of pods) {
        await invoke(plugin, { command: 'DEL', containerId: pod.containerId, ifName: pod.ifName, netns: pod.netns, stdin: plugin.config('1.1.0') }).catch(() => undefined);
        await deletePodNetns(pod.name);
      }
      await stop();
    }, 120_000);

    async function newPod(ifName = 'eth0'): Promise<Pod> {
      next += 1;
      const name = `${plugin.podPrefix}p${next}`;
      const pod: Pod = { name, netns: await createPodNetns(name), containerId: `c3s-${label.replace(/[^a-z0-9]/gi, '').toLowerCase()}-${next}`, ifName };
      pods.push(pod);
      return pod;
    }

    const call = (command: string, pod: Pod, config: Record<string, unknown> | string, extra: Partial<Invocation> = {}) =>
      invoke(plugin, { command, containerId: pod.containerId, ifName: pod.ifName, netns: pod.netns, stdin: config, ...extra });

    async function add(pod: Pod, version = '1.1.0'): Promise<AddOut> {
      const outcome = await call('ADD', pod, plugin.config(version));
      ok(outcome, `ADD ${pod.containerId}`);
      return JSON.parse(outcome.stdout) as AddOut;
    }

    async function del(pod: Pod, version = '1.1.0'): Promise<void> {
      ok(await call('DEL', pod, plugin.config(version)), `DEL ${pod.containerId}`);
    }

    async function check(pod: Pod, prevResult: AddOut, version = '1.1.0'): Promise<Outcome> {
      return call('CHECK', pod, { ...plugin.config(version), prevResult });
    }

    describe('VERSION', () => {
      it.each([['0.3.1'], ['1.1.0'], ['9.9.9'], [undefined]])('answers for a caller speaking %s', async (version) => {
        const outcome = await invoke(plugin, { command: 'VERSION', stdin: version === undefined ? '{}' : { cniVersion: version } });
        ok(outcome, 'VERSION');
        const body = JSON.parse(outcome.stdout) as { cniVersion: string; supportedVersions: string[] };
        expect(body.supportedVersions).toEqual(expect.arrayContaining([...SPEC_VERSIONS]));
        expect(body.supportedVersions).toContain(body.cniVersion);
      });
    });

    describe('ADD, CHECK, DEL at every version', () => {
      it.each(SPEC_VERSIONS.map((v) => [v]))('%s: the result speaks the config version; CHECK passes; DEL leaves nothing', async (version) => {
        const pod = await newPod();
        const result = await add(pod, version);
        expect(result.cniVersion).toBe(version);
        const ip = podIp(result, pod);
        const own = result.ips.find((i) => i.address.startsWith(`${ip}/`));
        expect(own?.version, JSON.stringify(own)).toBe(version.startsWith('0.') ? '4' : undefined);
        expect(result.interfaces?.some((i) => i.name === pod.ifName && i.sandbox === pod.netns)).toBe(true);
        const inPod = await execInNetns(pod.name, ['ip', '-4', '-o', 'addr', 'show', 'dev', pod.ifName]);
        expect(inPod.stdout).toContain(`${ip}/`);
        expect(await plugin.isAllocated(pod.containerId, pod.ifName)).toBe(true);
        if (version !== '0.3.1') ok(await check(pod, result, version), 'CHECK right after ADD');
        await del(pod, version);
        expect(await hostObjects(plugin, result, ip)).toEqual([]);
        expect(await plugin.isAllocated(pod.containerId, pod.ifName)).toBe(false);
      });

      it('accepts a config that also lists cniVersions and answers in its cniVersion', async () => {
        const pod = await newPod();
        const outcome = await call('ADD', pod, { ...plugin.config('1.0.0'), cniVersions: ['1.0.0', '1.1.0'] });
        ok(outcome, 'ADD with cniVersions');
        expect((JSON.parse(outcome.stdout) as AddOut).cniVersion).toBe('1.0.0');
        await del(pod);
      });
    });

    describe('repeated and unknown keys', () => {
      it('ADD twice for the same key: the first attachment survives, one DEL cleans up', async () => {
        const pod = await newPod();
        const first = await add(pod);
        const ip = podIp(first, pod);
        const again = await call('ADD', pod, plugin.config('1.1.0'));
        if (plugin.expect.repeatedAdd === 'same-address') {
          ok(again, 'second ADD');
          expect(podIp(JSON.parse(again.stdout) as AddOut, pod)).toBe(ip);
          ok(await check(pod, JSON.parse(again.stdout) as AddOut), 'CHECK after the second ADD');
        } else {
          cniError(again);
          const inPod = await execInNetns(pod.name, ['ip', '-4', '-o', 'addr', 'show', 'dev', pod.ifName]);
          expect(inPod.stdout).toContain(`${ip}/`);
          expect(await plugin.isAllocated(pod.containerId, pod.ifName)).toBe(true);
        }
        await del(pod);
        expect(await hostObjects(plugin, first, ip)).toEqual([]);
        expect(await plugin.isAllocated(pod.containerId, pod.ifName)).toBe(false);
      });

      it('DEL of a container never added succeeds', async () => {
        const pod = await newPod();
        ok(await call('DEL', pod, plugin.config('1.1.0')), 'DEL unknown');
      });

      it('DEL twice succeeds both times', async () => {
        const pod = await newPod();
        await add(pod);
        await del(pod);
        await del(pod);
      });

      it('DEL without CNI_NETNS still releases the address', async () => {
        const pod = await newPod();
        await add(pod);
        ok(await call('DEL', pod, plugin.config('1.1.0'), { netns: '' }), 'DEL without netns');
        expect(await plugin.isAllocated(pod.containerId, pod.ifName)).toBe(false);
        // Why: with no namespace given the plugin cannot reach the pod side; the runtime removes it.
        await deletePodNetns(pod.name);
      });
    });

    describe('CHECK after tampering', () => {
      const podSide: readonly [string, (pod: Pod, ip: string) => Promise<unknown>][] = [
        ['the pod default route deleted', (pod) => execInNetns(pod.name, ['ip', 'route', 'del', 'default'])],
        [
          'the pod address replaced',
          (pod, ip) =>
            execInNetns(pod.name, ['sh', '-c', `ip addr flush dev ${pod.ifName} && ip addr add 192.0.2.77/32 dev ${pod.ifName}`]).then(() => ip),
        ],
      ];
      it.each(podSide)('fails with %s', async (_what, tamper) => {
        const pod = await newPod();
        const result = await add(pod);
        await tamper(pod, podIp(result, pod));
        const error = cniError(await check(pod, result));
        expect(error.msg.length).toBeGreaterThan(0);
        await del(pod);
      });

      it('notices the host route to the pod deleted, if the plugin checks host routes', async () => {
        const pod = await newPod();
        const result = await add(pod);
        const ip = podIp(result, pod);
        await execInNetns(plugin.hostNetns, ['ip', 'route', 'del', `${ip}/32`]);
        const outcome = await check(pod, result);
        if (plugin.expect.checkNoticesHostRoute) expect(cniError(outcome).msg).toContain(ip);
        else ok(outcome, 'CHECK (host route not checked by this plugin)');
        await del(pod);
      });

      it('fails when prevResult has the wrong address for the interface', async () => {
        const pod = await newPod();
        const result = await add(pod);
        const ip = podIp(result, pod);
        const forged = { ...result, ips: result.ips.map((i) => (i.address.startsWith(`${ip}/`) ? { ...i, address: '192.0.2.66/32' } : i)) };
        cniError(await check(pod, forged));
        ok(await check(pod, result), 'CHECK with the true prevResult');
        await del(pod);
      });

      it('fails without prevResult', async () => {
        const pod = await newPod();
        await add(pod);
        expect(cniError(await call('CHECK', pod, plugin.config('1.1.0'))).code).toBe(plugin.expect.checkWithoutPrevResultCode);
        await del(pod);
      });

      it('is refused before 0.4.0 with code 1', async () => {
        const pod = await newPod();
        expect(cniError(await call('CHECK', pod, plugin.config('0.3.1'))).code).toBe(1);
      });

      it.skipIf((options.extraTampering ?? []).length === 0).each((options.extraTampering ?? []).map((t) => [t.what, t] as const))(
        'fails with %s',
        async (_what, damage) => {
          const pod = await newPod();
          const result = await add(pod);
          await damage.apply(plugin, podIp(result, pod));
          expect(cniError(await check(pod, result)).msg).toMatch(damage.message);
          await del(pod);
        },
      );
    });

    describe('prevResult on ADD', () => {
      it('handles a previous plugin result as the plugin declares', async () => {
        const pod = await newPod();
        const prevResult = {
          cniVersion: '1.1.0',
          interfaces: [{ name: 'dummy0', mac: '02:42:00:00:00:09', sandbox: pod.netns }],
          ips: [{ address: '198.51.100.9/24', interface: 0 }],
          routes: [{ dst: '198.51.100.0/24' }],
          dns: { nameservers: ['198.51.100.53'] },
        };
        const outcome = await call('ADD', pod, { ...plugin.config('1.1.0'), prevResult });
        ok(outcome, 'ADD with prevResult');
        const result = JSON.parse(outcome.stdout) as AddOut;
        const kept = result.interfaces?.[0]?.name === 'dummy0' && result.ips[0]?.address === '198.51.100.9/24' && result.dns?.['nameservers'] !== undefined;
        expect(kept).toBe(plugin.expect.keepsPrevResultOnAdd);
        if (kept) {
          const own = result.ips.find((i) => i.address !== '198.51.100.9/24');
          expect(result.interfaces?.[own?.interface ?? -1]).toMatchObject({ name: pod.ifName, sandbox: pod.netns });
          expect(result.routes?.[0]).toEqual({ dst: '198.51.100.0/24' });
          ok(await check(pod, result), 'CHECK with a chained prevResult');
        }
        await del(pod);
      });
    });

    describe('GC', () => {
      const gc = (extra: Record<string, unknown>) => invoke(plugin, { command: 'GC', stdin: { ...plugin.config('1.1.0'), ...extra } });
      const attachment = (pod: Pod) => ({ containerID: pod.containerId, ifname: pod.ifName });

      it('releases the attachments not listed and keeps the listed ones working', async () => {
        const keep = await newPod();
        const drop = await newPod();
        const kept = await add(keep);
        const dropped = await add(drop);
        const dropIp = podIp(dropped, drop);
        const outcome = await gc({ 'cni.dev/valid-attachments': [attachment(keep)] });
        ok(outcome, 'GC');
        expect(outcome.stdout.trim()).toBe('');
        const expected = plugin.expect.gc;
        expect(await plugin.isAllocated(drop.containerId, drop.ifName)).toBe(expected === 'no-op');
        expect(await plugin.isAllocated(keep.containerId, keep.ifName)).toBe(true);
        ok(await check(keep, kept), 'CHECK of the kept attachment after GC');
        const left = await hostObjects(plugin, dropped, dropIp);
        if (expected !== 'no-op' && expected.removesInterfaces) expect(left).toEqual([]);
        else expect(left.length).toBeGreaterThan(0);
        await del(drop);
        await del(keep);
      });

      it('with an empty list releases every attachment of the network', async () => {
        const a = await newPod();
        const b = await newPod();
        await add(a);
        await add(b);
        ok(await gc({ 'cni.dev/valid-attachments': [] }), 'GC []');
        const released = plugin.expect.gc !== 'no-op';
        expect(await plugin.isAllocated(a.containerId, a.ifName)).toBe(!released);
        expect(await plugin.isAllocated(b.containerId, b.ifName)).toBe(!released);
        await del(a);
        await del(b);
      });

      it('without cni.dev/valid-attachments behaves as the plugin declares', async () => {
        const pod = await newPod();
        await add(pod);
        const outcome = await gc({});
        const expected = plugin.expect.gc;
        if (expected === 'no-op' || expected.withoutList === 'releases-all') {
          ok(outcome, 'GC without the list');
          expect(await plugin.isAllocated(pod.containerId, pod.ifName)).toBe(expected === 'no-op');
        } else {
          expect(cniError(outcome).code).toBe(expected.withoutList.code);
          expect(await plugin.isAllocated(pod.containerId, pod.ifName)).toBe(true);
        }
        await del(pod);
      });

      it('is refused before 1.1.0 with code 1', async () => {
        expect(cniError(await invoke(plugin, { command: 'GC', stdin: { ...plugin.config('1.0.0'), 'cni.dev/valid-attachments': [] } })).code).toBe(1);
      });
    });

    describe('STATUS', () => {
      it('succeeds with nothing on stdout when the plugin can serve ADD', async () => {
        const outcome = await invoke(plugin, { command: 'STATUS', stdin: plugin.config('1.1.0') });
        ok(outcome, 'STATUS');
        expect(outcome.stdout.trim()).toBe('');
      });

      it('is refused before 1.1.0 with code 1', async () => {
        expect(cniError(await invoke(plugin, { command: 'STATUS', stdin: plugin.config('1.0.0') })).code).toBe(1);
      });
    });

    describe('bad input', () => {
      it.each<[string, number, (p: PluginUnderTest) => Partial<Invocation>]>([
        ['malformed JSON', 6, () => ({ stdin: '{"cniVersion": "1.1.0", "name": ' })],
        ['a missing name', 7, (p) => ({ stdin: Object.fromEntries(Object.entries(p.config('1.1.0')).filter(([k]) => k !== 'name')) })],
        ['an unknown version', 1, (p) => ({ stdin: { ...p.config('1.1.0'), cniVersion: '7.0.0' } })],
        ['a missing CNI_NETNS', 4, (p) => ({ stdin: p.config('1.1.0'), netns: '' })],
        ['a missing CNI_CONTAINERID', 4, (p) => ({ stdin: p.config('1.1.0'), containerId: '' })],
      ])('ADD with %s fails with code %i', async (_what, code, input) => {
        const pod = await newPod();
        const outcome = await call('ADD', pod, plugin.config('1.1.0'), input(plugin));
        expect(cniError(outcome).code).toBe(code);
        expect(await plugin.isAllocated(pod.containerId, pod.ifName)).toBe(false);
      });
    });
  });
}
