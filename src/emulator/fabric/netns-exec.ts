/**
 * Running commands inside network namespaces, plus the reachability probes the e2e tests use:
 * ping, and a TCP echo server/client made of tiny Node child processes (no extra tools).
 */
import { execFile, spawn } from 'node:child_process';
import { FabricError } from './errors.js';

const NETNS_DIR = '/run/netns/';

/** Output of a command that exited 0. */
export interface ExecOutput {
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Kill the command after this long. Default 10 s. */
  readonly timeoutMs?: number;
  /** Written to the command's stdin, which is then closed. */
  readonly input?: string;
}

/**
 * Runs a program and resolves with its output when it exits 0. Throws {@link FabricError}
 * `CommandFailed` (exit code and stderr in the message), `CommandTimedOut`, or `ToolMissing`.
 */
export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<ExecOutput> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error === null) {
        resolve({ stdout, stderr });
        return;
      }
      const shown = [file, ...args].map((a) => (a.length > 80 ? '<script>' : a)).join(' ');
      const code: unknown = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        reject(new FabricError('ToolMissing', `${file} is not installed (running: ${shown})`, { cause: error }));
      } else if (error.killed) {
        reject(new FabricError('CommandTimedOut', `${shown} did not finish within ${timeoutMs} ms`, { cause: error }));
      } else {
        const detail = stderr.trim() || stdout.trim() || error.message;
        const input = options.input === undefined ? '' : `\ninput was:\n${options.input}`;
        reject(new FabricError('CommandFailed', `${shown} exited with ${String(code)}: ${detail}${input}`, { cause: error }));
      }
    });
    // A program that exits without reading its stdin closes the pipe; its exit status tells.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input ?? '');
  });
}

/**
 * argv prefix that runs a program in a namespace given as a name (`fab-n1`) or a path
 * (`/run/netns/fab-n1`, `/proc/123/ns/net`). Names and `/run/netns/` paths use `ip netns exec`,
 * other paths `nsenter`.
 */
export function netnsCommand(netns: string): [string, ...string[]] {
  if (netns.startsWith(NETNS_DIR) && !netns.slice(NETNS_DIR.length).includes('/')) {
    return ['ip', 'netns', 'exec', netns.slice(NETNS_DIR.length)];
  }
  if (netns.includes('/')) return ['nsenter', `--net=${netns}`, '--'];
  return ['ip', 'netns', 'exec', netns];
}

/** Runs `argv` inside the namespace; same results and errors as {@link run}. */
export function execInNetns(netns: string, argv: readonly string[], options: RunOptions = {}): Promise<ExecOutput> {
  const [file, ...prefix] = netnsCommand(netns);
  return run(file, [...prefix, ...argv], options);
}

/** Result of a reachability probe that is allowed to fail. */
export interface ProbeResult {
  readonly ok: boolean;
  /** The probe's stdout and stderr, or the reason it could not run. */
  readonly output: string;
}

export interface PingOptions {
  /** Echo requests to send; success needs `count` replies. Default 1. */
  readonly count?: number;
  /** Overall deadline in seconds. Default 2. */
  readonly timeoutSec?: number;
  /** Source address (`ping -I`). */
  readonly sourceIp?: string;
}

/** Pings `toIp` from inside `fromNs` (name or path). Never throws for an unreachable target. */
export async function ping(fromNs: string, toIp: string, options: PingOptions = {}): Promise<ProbeResult> {
  const count = options.count ?? 1;
  const timeoutSec = options.timeoutSec ?? 2;
  const args = ['ping', '-n', '-c', String(count), '-i', '0.2', '-w', String(timeoutSec)];
  if (options.sourceIp !== undefined) args.push('-I', options.sourceIp);
  args.push(toIp);
  try {
    const out = await execInNetns(fromNs, args, { timeoutMs: timeoutSec * 1000 + 5000 });
    return { ok: true, output: out.stdout };
  } catch (error) {
    if (error instanceof FabricError && error.code !== 'ToolMissing') return { ok: false, output: error.message };
    throw error;
  }
}

const ECHO_SERVER = `
const net = require('node:net');
const [host, port, lifetimeMs] = process.argv.slice(1);
const server = net.createServer((s) => { s.on('error', () => {}); s.pipe(s); });
server.on('error', (e) => { console.error(e.message); process.exit(1); });
server.listen(Number(port), host, () => console.log('listening'));
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
setTimeout(() => process.exit(0), Number(lifetimeMs)).unref();
`;

const ECHO_CLIENT = `
const net = require('node:net');
const [host, port, token, timeoutMs, localAddress] = process.argv.slice(1);
const options = { host, port: Number(port) };
if (localAddress) options.localAddress = localAddress;
setTimeout(() => { console.error('no echo within ' + timeoutMs + ' ms'); process.exit(2); }, Number(timeoutMs));
let got = '';
const socket = net.connect(options, () => socket.write(token));
socket.on('data', (d) => {
  got += d.toString();
  if (got.includes(token)) { console.log('echoed ' + token + ' from ' + socket.localAddress); process.exit(0); }
});
socket.on('error', (e) => { console.error(e.message); process.exit(1); });
`;

/** A running TCP echo server; close it when done (it also exits when its parent goes away). */
export interface TcpEchoServer {
  /** Stops the server process. Idempotent. */
  close(): Promise<void>;
}

export interface TcpEchoOptions {
  /** How long the server may take to start listening. Default 10 s. */
  readonly startTimeoutMs?: number;
  /** The server exits by itself after this long. Default 5 minutes. */
  readonly lifetimeMs?: number;
}

/**
 * Starts a TCP echo server listening on `ip:port` inside `serverNs` and resolves once it
 * listens. Throws {@link FabricError} `CommandFailed` when it cannot listen.
 */
export function tcpEcho(serverNs: string, ip: string, port: number, options: TcpEchoOptions = {}): Promise<TcpEchoServer> {
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  const lifetimeMs = options.lifetimeMs ?? 300_000;
  const [file, ...prefix] = netnsCommand(serverNs);
  const child = spawn(file, [...prefix, process.execPath, '-e', ECHO_SERVER, ip, String(port), String(lifetimeMs)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  const server: TcpEchoServer = {
    close: async () => {
      if (!exited) child.kill('SIGKILL');
      await exit;
    },
  };
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const fail = (why: string): void => {
      clearTimeout(timer);
      void server.close();
      reject(new FabricError('CommandFailed', `TCP echo server on ${ip}:${port} in ${serverNs} ${why}`));
    };
    const timer = setTimeout(() => fail(`did not listen within ${startTimeoutMs} ms: ${stderr.trim()}`), startTimeoutMs);
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('listening')) {
        clearTimeout(timer);
        resolve(server);
      }
    });
    child.once('error', (e) => fail(`could not start: ${e.message}`));
    child.once('exit', (code) => fail(`exited with ${String(code)}: ${stderr.trim()}`));
  });
}

export interface TcpConnectOptions {
  /** Give up after this long. Default 5 s. */
  readonly timeoutMs?: number;
  /** Bytes to send and expect back. Default a random token. */
  readonly token?: string;
  /** Source address to bind the client socket to. */
  readonly sourceIp?: string;
}

/**
 * Connects from inside `clientNs` to `ip:port`, sends a token and waits for it to come back.
 * Never throws for an unreachable server: `ok` says whether the echo arrived.
 */
export async function tcpConnect(clientNs: string, ip: string, port: number, options: TcpConnectOptions = {}): Promise<ProbeResult> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const token = options.token ?? `nip-${Math.random().toString(36).slice(2)}`;
  const argv = [process.execPath, '-e', ECHO_CLIENT, ip, String(port), token, String(timeoutMs), options.sourceIp ?? ''];
  try {
    const out = await execInNetns(clientNs, argv, { timeoutMs: timeoutMs + 10_000 });
    return { ok: true, output: out.stdout.trim() };
  } catch (error) {
    if (error instanceof FabricError && error.code !== 'ToolMissing') return { ok: false, output: error.message };
    throw error;
  }
}
