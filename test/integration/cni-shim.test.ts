/**
 * The native plugin shim (dist/bin/nativeip-cni): what it answers on its own — VERSION, bad
 * input and an unreachable daemon — must match the daemon-side plugin logic; it reads only the
 * top-level keys of a config it has fully validated, and relays what a daemon answers.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SUPPORTED_VERSIONS, LATEST_VERSION } from '../../src/cni/plugin/versions.js';
import { encodeFrame } from '../../src/rpc/framing.js';
import { closeServer, fakeDaemon, tempDir } from './rpc-helpers.js';

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

interface ShimError {
  readonly cniVersion: string;
  readonly code: number;
  readonly msg: string;
  readonly details?: string;
}

interface ExecRequest {
  readonly id: number;
  readonly method: string;
  readonly params: { readonly env: Record<string, string>; readonly stdinBase64: string };
}

const dir = tempDir('nativeip-shim-');
const absent = join(dir.path, 'absent.sock');
const servers: Server[] = [];
let socketCount = 0;

/** A fake daemon on a fresh socket: it counts connections, records requests and answers with `reply`, or never answers. */
async function daemon(reply: ((req: ExecRequest) => unknown) | 'silent', path = join(dir.path, `d${++socketCount}.sock`)) {
  const stub = { path, requests: [] as ExecRequest[], connections: 0 };
  const answer = (req: { id: number }) => {
    stub.requests.push(req as ExecRequest);
    return reply === 'silent' ? {} : reply(req as ExecRequest);
  };
  const server = await fakeDaemon(path, answer, reply === 'silent' ? 'silent' : 'answer');
  server.on('connection', () => (stub.connections += 1));
  servers.push(server);
  return stub;
}

/** Runs the shim without blocking the event loop (the fake daemons live in this process). */
function runAsync(command: string, stdin: string | Buffer): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(SHIM, [], { env: { CNI_COMMAND: command, CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/none', CNI_IFNAME: 'eth0' } });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

function shimError(out: { code: number | null; stdout: string }): ShimError {
  expect(out.code, out.stdout).toBe(1);
  return JSON.parse(out.stdout) as ShimError;
}

const result = (stdout: string, exitCode = 0) => (req: ExecRequest) => ({ v: 1, id: req.id, result: { stdoutBase64: Buffer.from(stdout).toString('base64'), exitCode } });

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => closeServer(server)));
});
afterAll(() => dir.remove());

describe.skipIf(missing)('nativeip-cni shim: only the top-level keys count', () => {
  function runText(stdin: string): ShimError {
    const out = spawnSync(SHIM, [], { input: stdin, env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/x', CNI_IFNAME: 'eth0' } });
    return shimError({ code: out.status, stdout: out.stdout.toString() });
  }

  it('a socketPath nested in prevResult before the top-level one is not used', () => {
    const error = runText(`{"cniVersion":"1.0.0","prevResult":{"socketPath":"/nested/ipamd.sock"},"socketPath":"${absent}"}`);
    expect(error.msg).toBe(`try again later: nativeip-ipamd is not reachable at ${absent}: No such file or directory`);
  });

  it('reads socketPath and cniVersion from the top level, after nested ones and look-alikes in strings', () => {
    const stdin = `{"prevResult":{"cniVersion":"0.3.0","socketPath":"/nested/ipamd.sock"},"runtimeConfig":{"socketPath":"/rc.sock"},"args":["socketPath"],"note":"\\"socketPath\\":\\"/x\\"","cniVersion":"1.0.0","name":"n","socketPath":"${absent}"}`;
    const error = runText(stdin);
    expect(error).toMatchObject({ cniVersion: '1.0.0', code: 11 });
    expect(error.msg).toBe(`try again later: nativeip-ipamd is not reachable at ${absent}: No such file or directory`);
  });

  it('the last of duplicate keys wins, as with JSON.parse', () => {
    const error = runText(`{"cniVersion":"1.0.0","socketPath":"/first.sock","socketPath":"${absent}"}`);
    expect(error.msg).toContain(absent);
  });

  it('decodes escaped characters in the path', () => {
    const path = join(dir.path, 'a"b\\c\td/.sock');
    const error = runText(config({ socketPath: path }));
    expect(error.msg).toBe(`try again later: nativeip-ipamd is not reachable at ${path}: No such file or directory`);
  });

  it('decodes \\u escapes, surrogate pairs included, in keys and values', async () => {
    const stub = await daemon(result('{"ok":true}\n'), join(dir.path, 'é😀.sock'));
    const rel = dir.path.replace(/"/g, '\\"');
    const out = await runAsync('ADD', `{"cniVersion":"1.0.0","socket\\u0050ath":"${rel}/\\u00e9\\ud83d\\ude00.sock"}`);
    expect(out).toEqual({ code: 0, stdout: '{"ok":true}\n' });
    expect(stub.requests).toHaveLength(1);
  });

  it('an unpaired surrogate becomes U+FFFD, as Node.js writes the path', () => {
    const error = runText(`{"cniVersion":"1.0.0","socketPath":"${dir.path}/\\ud800.sock"}`);
    expect(error.msg).toContain(`${dir.path}/\uFFFD.sock`);
  });

  it('labels its errors with a supported cniVersion, else the highest supported of cniVersions, else the latest', () => {
    expect(runText(config({ cniVersion: '0.4.0', socketPath: absent })).cniVersion).toBe('0.4.0');
    expect(runText(config({ cniVersion: '9.9.9', socketPath: absent })).cniVersion).toBe(LATEST_VERSION);
    expect(runText(JSON.stringify({ cniVersions: ['0.3.1', '1.0.0', '7.0.0', 5], socketPath: absent })).cniVersion).toBe('1.0.0');
  });
});

describe.skipIf(missing)('nativeip-cni shim: broken input is refused before the daemon is contacted', () => {
  async function refused(stdin: string | ((socketPath: string) => string)): Promise<ShimError> {
    const stub = await daemon(result('{"forwarded":true}\n'));
    const out = await runAsync('ADD', typeof stdin === 'string' ? stdin : stdin(stub.path));
    expect(stub.connections).toBe(0);
    return shimError(out);
  }

  it.each([
    ['truncated', (p: string) => `{"socketPath":"${p}","cniVersion":"1.0.0","name":`, /invalid JSON at line 1, column \d+ \(byte offset \d+\): expected a value, found the end of the input/],
    ['trailing garbage', (p: string) => `{"socketPath":"${p}"} x`, /unexpected 'x' after the JSON value/],
    ['a bad escape', (p: string) => `{"socketPath":"${p}","a":"\\q"}`, /invalid escape '\\q'/],
    ['a short \\u escape', (p: string) => `{"socketPath":"${p}","a":"\\u12"}`, /invalid \\u escape/],
    ['a raw control character', (p: string) => `{"socketPath":"${p}","a":"x\ny"}`, /control character U\+000A in a string/],
    ['a leading zero', (p: string) => `{"socketPath":"${p}","a":01}`, /expected ',' or '}' after a property value, found '1'/],
    ['a trailing comma', (p: string) => `{"socketPath":"${p}",}`, /expected a double-quoted property name, found '}'/],
    ['a NUL byte', (p: string) => `{"socketPath":"${p}"}\u0000`, /unexpected U\+0000 after the JSON value/],
  ])('%s → code 6 saying what and where', async (_name, stdin, problem) => {
    const error = await refused(stdin);
    expect(error.code).toBe(6);
    expect(error.msg).toMatch(/^failed to decode content: invalid JSON at line \d+, column \d+ \(byte offset \d+\): /);
    expect(error.msg).toMatch(problem);
  });

  it('the byte offset counts bytes; the line and column count lines and characters', async () => {
    let text = '';
    const error = await refused((p) => (text = `{"socketPath":"${p}",\n "é": tru }`));
    const offset = Buffer.byteLength(text.slice(0, text.indexOf('tru ') + 3));
    expect(error.msg).toBe(`failed to decode content: invalid JSON at line 2, column 10 (byte offset ${offset}): expected 'true', found ' '`);
  });

  it('invalid UTF-8 in a string → code 6', async () => {
    const stub = await daemon(result('{}\n'));
    const out = await runAsync('ADD', Buffer.concat([Buffer.from(`{"socketPath":"${stub.path}","a":"`), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]));
    expect(stub.connections).toBe(0);
    expect(shimError(out).msg).toMatch(/invalid UTF-8 \(byte 0xC3\) in a string/);
  });

  it('a depth bomb (10,000 [) → code 6, nesting too deep', async () => {
    const error = await refused((p) => `{"socketPath":"${p}","a":${'['.repeat(10_000)}`);
    expect(error).toMatchObject({ code: 6 });
    expect(error.msg).toMatch(/nesting deeper than 512/);
  });

  it.each([
    ['empty stdin', '', /stdin is empty/],
    ['only whitespace', ' \n\t ', /stdin is empty/],
    ['an array', '[1,2]', /must be a JSON object, got an array/],
    ['a string', '"socketPath"', /must be a JSON object, got a string/],
    ['null', 'null', /must be a JSON object, got null/],
  ])('%s → code 6', async (_name, stdin, problem) => {
    const error = await refused(stdin);
    expect(error.code).toBe(6);
    expect(error.msg).toMatch(problem);
  });

  it.each([
    ['a number', 5, 'socketPath: expected an absolute path, got number 5'],
    ['null', null, 'socketPath: expected an absolute path, got null'],
    ['an object', { path: '/x' }, 'socketPath: expected an absolute path, got an object'],
    ['a relative path', 'run/ipamd.sock', 'socketPath: expected an absolute path, got string "run/ipamd.sock"'],
    ['empty', '', 'socketPath: expected an absolute path, got string ""'],
    ['too long for sun_path', `/${'a'.repeat(120)}`, 'socketPath: 121 bytes is too long for a Unix socket path (at most 107)'],
    ['a NUL inside', '/a\u0000b', 'socketPath: contains a NUL character'],
  ])('socketPath %s → code 7 naming the field', async (_name, socketPath, msg) => {
    const error = await refused(config({ socketPath }));
    expect(error).toMatchObject({ cniVersion: '1.0.0', code: 7, msg: `invalid network config: ${msg}` });
  });

  it.each([
    ['zero', 0, 'number 0'],
    ['a fraction', 1.5, 'number 1.5'],
    ['over ten minutes', 600_001, 'number 600001'],
    ['a string', '300', 'string "300"'],
  ])('timeoutMs %s → code 7 naming the field and the bounds', async (_name, timeoutMs, shown) => {
    const error = await refused((p) => config({ socketPath: p, timeoutMs }));
    expect(error).toMatchObject({ code: 7, msg: `invalid network config: timeoutMs: expected an integer from 1 to 600000 (milliseconds), got ${shown}` });
  });

  it('VERSION does not read stdin, whatever is on it', async () => {
    const out = await runAsync('VERSION', '{"cniVersion":');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({ cniVersion: LATEST_VERSION });
  });
});

/** A config of exactly `bytes` bytes, its top-level socketPath at the end. */
const padded = (socketPath: unknown, bytes: number) => {
  const head = { cniVersion: '1.0.0', name: 'n', type: 'nativeip-cni', prevResult: { socketPath: '/nested/ipamd.sock', pad: '' } };
  const base = JSON.stringify({ ...head, socketPath }).length;
  return JSON.stringify({ ...head, prevResult: { ...head.prevResult, pad: 'x'.repeat(bytes - base) }, socketPath });
};

describe.skipIf(missing)('nativeip-cni shim: large configs', () => {

  it('forwards a 700 KiB config whole, to the top-level socketPath at its end', async () => {
    const stub = await daemon(result('{"ok":1}\n'));
    const stdin = padded(stub.path, 700 * 1024);
    expect(stdin.length).toBe(700 * 1024);
    const out = await runAsync('ADD', stdin);
    expect(out).toEqual({ code: 0, stdout: '{"ok":1}\n' });
    expect(Buffer.from(stub.requests[0]?.params.stdinBase64 ?? '', 'base64').toString()).toBe(stdin);
  });

  it('a valid 1 MiB config is scanned to the end: a bad top-level socketPath there is found', async () => {
    const error = shimError(await runAsync('ADD', padded(7, 1024 * 1024)));
    expect(error).toMatchObject({ code: 7, msg: 'invalid network config: socketPath: expected an absolute path, got number 7' });
  });

  it('a valid 1 MiB config too large for one request frame → code 7 saying the sizes', async () => {
    const stub = await daemon(result('{}\n'));
    const out = await runAsync('ADD', padded(stub.path, 1024 * 1024));
    expect(stub.connections).toBe(0);
    const error = shimError(out);
    expect(error.code).toBe(7);
    expect(error.msg).toMatch(/^invalid network config: the configuration is 1048576 bytes; nativeip-ipamd takes at most \d+ /);
  });

  it('more than 4 MiB on stdin → code 7 without reading it all', async () => {
    const error = shimError(await runAsync('ADD', Buffer.alloc(4 * 1024 * 1024 + 1, 0x20)));
    expect(error).toMatchObject({ code: 7, msg: 'invalid network config: the configuration on stdin is larger than 4194304 bytes' });
  });
});

describe.skipIf(missing)('nativeip-cni shim: talking to the daemon', () => {
  it('forwards the environment and stdin in one exec request and prints the answer with its exit code', async () => {
    const stub = await daemon(result('{"cniVersion":"1.0.0","code":7,"msg":"from the daemon"}\n', 1));
    const stdin = config({ socketPath: stub.path });
    const out = await runAsync('CHECK', stdin);
    expect(out).toEqual({ code: 1, stdout: '{"cniVersion":"1.0.0","code":7,"msg":"from the daemon"}\n' });
    expect(stub.requests[0]).toMatchObject({ method: 'exec', params: { env: { CNI_COMMAND: 'CHECK', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0' } } });
    expect(Buffer.from(stub.requests[0]?.params.stdinBase64 ?? '', 'base64').toString()).toBe(stdin);
  });

  it('a daemon that refuses the frame unread and closes (its limits): the shim reads the refusal, not SIGPIPE', async () => {
    const path = join(dir.path, `refuse${++socketCount}.sock`);
    const refusal = encodeFrame({ v: 1, id: 0, error: { code: 'ConnectionLimit', cniCode: 11, message: 'refused a frame of 716800 bytes: the daemon holds 16 MiB of partly received frames', retryable: true } });
    const server = createServer((socket) => {
      socket.pause();
      socket.end(refusal, () => socket.destroy());
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    servers.push(server);
    const error = shimError(await runAsync('ADD', padded(path, 700 * 1024)));
    expect(error).toMatchObject({ code: 11, msg: expect.stringContaining('refused a frame of 716800 bytes') as unknown });
  });

  it('an RPC error reply becomes its CNI code and message', async () => {
    const stub = await daemon((req) => ({ v: 1, id: req.id, error: { code: 'NotReady', cniCode: 11, message: 'nativeip-ipamd is starting', retryable: true } }));
    const error = shimError(await runAsync('ADD', config({ socketPath: stub.path })));
    expect(error).toEqual({ cniVersion: '1.0.0', code: 11, msg: 'nativeip-ipamd is starting', details: 'nativeip-ipamd error NotReady (retryable)' });
  });

  it.each([
    ['ADD', 11, 'try again later: '],
    ['STATUS', 50, 'plugin not available: '],
  ])('timeoutMs is honoured: a daemon that never answers %s → code %i', async (command, code, prefix) => {
    const stub = await daemon('silent');
    const out = await runAsync(command, config({ socketPath: stub.path, timeoutMs: 300 }));
    expect(shimError(out)).toEqual({
      cniVersion: '1.0.0',
      code,
      msg: `${prefix}nativeip-ipamd at ${stub.path} did not answer ${command.toLowerCase()} within 300 ms`,
    });
    expect(stub.connections).toBe(1);
  });
});
