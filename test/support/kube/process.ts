/**
 * Long-running processes of the local Kubernetes (etcd, the API server, containerd, kubelet):
 * output to a log file, readiness polling that fails early with the log's tail when the process
 * dies, and a stop that escalates from SIGTERM to SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';

/** A free TCP port on 127.0.0.1 (bound and released; the caller binds it again at once). */
export { freeLoopbackPort as freePort } from '../../../src/demo/free-port.js';

export interface RunOptions {
  /** Written to the command's stdin. */
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Kills the command (SIGKILL) after this long; default 60 s. */
  readonly timeoutMs?: number;
}

/**
 * Runs a command to completion and returns its stdout; throws with the command line, its exit
 * status and stderr when it fails.
 */
export function runCommand(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const timeoutMs = options.timeoutMs ?? 60_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${command} could not be started: ${error.message}`, { cause: error }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        resolve(Buffer.concat(stdout).toString('utf8'));
        return;
      }
      const how = timedOut ? `timed out after ${timeoutMs / 1000} s` : signal !== null ? `killed by ${signal}` : `exited with ${String(code)}`;
      const err = Buffer.concat(stderr).toString('utf8').trim();
      reject(new Error(`${command} ${args.join(' ')} ${how}: ${err}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The last `lines` lines of a text file, or '' when it cannot be read. */
export function tailFile(path: string, lines = 40): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '';
  }
}

export interface ManagedProcessOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Receives stdout and stderr (appended, so a restart keeps the earlier run's lines). */
  readonly logPath: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** One child process whose output goes to a log file. */
export class ManagedProcess {
  readonly name: string;
  readonly logPath: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private exitDescription: string | undefined;

  constructor(private readonly options: ManagedProcessOptions) {
    this.name = options.name;
    this.logPath = options.logPath;
  }

  /** The process id while it runs. */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.exitDescription === undefined;
  }

  /** Starts the process; throws if it is already running or cannot be spawned. */
  start(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    const fd = openSync(this.logPath, 'a');
    let child: ChildProcess;
    try {
      child = spawn(this.options.command, [...this.options.args], {
        stdio: ['ignore', fd, fd],
        env: this.options.env ?? process.env,
        ...(this.options.cwd !== undefined ? { cwd: this.options.cwd } : {}),
      });
    } finally {
      closeSync(fd);
    }
    this.child = child;
    this.exitDescription = undefined;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitDescription = signal !== null ? `killed by ${signal}` : `exited with code ${String(code)}`;
        resolve();
      });
      child.once('error', (error) => {
        this.exitDescription = `failed to start: ${error.message}`;
        resolve();
      });
    });
  }

  /** An Error naming the process, what happened and the tail of its log. */
  failure(what: string): Error {
    const state = this.exitDescription !== undefined ? ` (${this.exitDescription})` : '';
    return new Error(`${this.name} ${what}${state}; last lines of ${this.logPath}:\n${tailFile(this.logPath)}`);
  }

  /**
   * Polls `check` until it returns true; throws {@link failure} with the log's tail when the
   * process exits first or the time runs out. Exceptions from `check` count as "not yet".
   */
  async waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, intervalMs = 200): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw this.failure(`stopped before it was ${what}`);
      try {
        if (await check()) return;
      } catch {
        // not yet
      }
      if (Date.now() > deadline) throw this.failure(`was not ${what} within ${timeoutMs / 1000} s`);
      await sleep(intervalMs);
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. Idempotent. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
