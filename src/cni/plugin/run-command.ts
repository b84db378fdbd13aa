/**
 * One CNI invocation, from env + stdin to stdout + exit code. No I/O of its own: the daemon call,
 * the log file and the clock come in through {@link PluginDeps}.
 */

import type { CallOptions } from '../../rpc/client.js';
import type { ResultOf } from '../../rpc/decode.js';
import { RpcCallError } from '../../rpc/errors.js';
import type { AddParams, CheckParams, DelParams, MethodMap, RpcMethod } from '../../rpc/protocol.js';
import { parseValidAttachments } from './attachments.js';
import { CNI_ERROR, CniError, cniErrorJson } from './cni-error.js';
import { decodeStdin, parseNetworkConfig, peekCniVersion, type NetworkConfig } from './config.js';
import { parseCommand, parseCommandEnv, type CniEnv, type CommandEnv } from './env.js';
import { createFileLog, silentLog, type PluginLog } from './log.js';
import { decodePrevResult, findAttachment } from './prev-result.js';
import { formatAddResult, versionResult } from './result.js';
import { LATEST_VERSION, commandAllowed, commandSince, type CniCommand } from './versions.js';

export interface PluginInput {
  readonly env: CniEnv;
  /** Everything the runtime wrote to stdin. */
  readonly stdin: Uint8Array;
}

export interface PluginOutput {
  /** The CNI result or error JSON; empty for a successful DEL or CHECK. */
  readonly stdout: string;
  readonly exitCode: number;
}

export type CallDaemon = <M extends RpcMethod>(
  socketPath: string,
  method: M,
  params: MethodMap[M]['params'],
  options: CallOptions,
) => Promise<ResultOf<M>>;

export interface PluginDeps {
  /** `callDaemon` from src/rpc/client.ts, or a fake. */
  readonly callDaemon: CallDaemon;
  /** Appends a line to a file; used only when the config sets `logFile`. */
  readonly appendLog: (file: string, line: string) => void;
  readonly now: () => number;
}

interface Invocation {
  readonly command: CniCommand;
  readonly config: NetworkConfig;
  /** The decoded stdin, for keys only one command reads. */
  readonly raw: Readonly<Record<string, unknown>>;
  readonly env: CniEnv;
  readonly deps: PluginDeps;
  readonly log: PluginLog;
}

type Handler = (inv: Invocation) => Promise<PluginOutput>;

const HANDLERS: Partial<Record<CniCommand, Handler>> = { ADD: add, DEL: del, CHECK: check, STATUS: status, GC: gc };

/** Runs one CNI command. Never throws: every failure becomes the CNI error JSON and exit code 1. */
export async function runCommand(input: PluginInput, deps: PluginDeps): Promise<PluginOutput> {
  let cniVersion: string = LATEST_VERSION;
  let log = silentLog;
  try {
    const command = parseCommand(input.env);
    if (command === 'VERSION') return success(versionResult());
    const raw = decodeStdin(input.stdin);
    cniVersion = peekCniVersion(raw) ?? LATEST_VERSION;
    const config = parseNetworkConfig(raw);
    if (config.logFile !== undefined) {
      log = createFileLog(
        { file: config.logFile, level: config.logLevel, append: deps.appendLog, now: deps.now },
        { command, network: config.name, containerId: input.env['CNI_CONTAINERID'], ifName: input.env['CNI_IFNAME'] },
      );
    }
    if (!commandAllowed(command, config.cniVersion)) {
      throw new CniError(
        CNI_ERROR.IncompatibleVersion,
        `CNI_COMMAND ${command} needs cniVersion ${commandSince(command)} or later; the network config says ${config.cniVersion}`,
      );
    }
    const handler = HANDLERS[command];
    if (handler === undefined) {
      throw new CniError(CNI_ERROR.InvalidEnvironment, `invalid environment variables: CNI_COMMAND ${command} is not supported`);
    }
    return await handler({ command, config, raw, env: input.env, deps, log });
  } catch (err) {
    const failure =
      err instanceof CniError
        ? err
        : new CniError(CNI_ERROR.Internal, `internal error in nativeip-cni: ${err instanceof Error ? err.message : String(err)}`);
    log.error('command failed', { code: failure.code, reason: failure.message });
    return { stdout: `${JSON.stringify(cniErrorJson(cniVersion, failure))}\n`, exitCode: 1 };
  }
}

async function add(inv: Invocation): Promise<PluginOutput> {
  const env = parseCommandEnv('ADD', inv.env);
  const prev = inv.config.prevResult === undefined ? undefined : decodePrevResult(inv.config.prevResult);
  const params: AddParams = {
    ...keyOf(inv.config, env),
    netns: env.netns ?? '',
    ...(inv.config.mtu === undefined ? {} : { mtu: inv.config.mtu }),
  };
  const started = inv.deps.now();
  const result = await call(inv, 'add', params, CNI_ERROR.TryAgainLater);
  inv.log.info('ADD done', {
    address: result.address,
    interfaceId: result.interfaceId,
    hostInterface: result.hostInterface.name,
    durationMs: inv.deps.now() - started,
  });
  return success(formatAddResult(inv.config.cniVersion, result, prev));
}

async function del(inv: Invocation): Promise<PluginOutput> {
  const env = parseCommandEnv('DEL', inv.env);
  const params: DelParams = { ...keyOf(inv.config, env), ...(env.netns === undefined ? {} : { netns: env.netns }) };
  const started = inv.deps.now();
  try {
    await inv.deps.callDaemon(inv.config.socketPath, 'del', params, { timeoutMs: inv.config.timeoutMs });
  } catch (err) {
    // Why: tearing down the namespace removes the veth; the daemon releases the address when it
    // reconciles, so a DEL while it is down must not block pod deletion.
    if (err instanceof RpcCallError && err.unreachable) {
      inv.log.warn('DEL: daemon unreachable; leaving the release to its reconciliation', { reason: err.message });
      return { stdout: '', exitCode: 0 };
    }
    throw daemonFailure(err, CNI_ERROR.TryAgainLater);
  }
  inv.log.info('DEL done', { durationMs: inv.deps.now() - started });
  return { stdout: '', exitCode: 0 };
}

/**
 * CHECK: the daemon compares the kernel with what ADD set up; the runtime's `prevResult` (which
 * the spec makes mandatory for CHECK) must still show our interface with the address we hold.
 * Interfaces, IPs and routes of other plugins in it are theirs to check.
 */
async function check(inv: Invocation): Promise<PluginOutput> {
  const env = parseCommandEnv('CHECK', inv.env);
  if (inv.config.prevResult === undefined) {
    throw new CniError(CNI_ERROR.InvalidNetworkConfig, 'invalid network config: prevResult is required for CHECK (the result of the ADD being checked)');
  }
  const netns = env.netns ?? '';
  const own = findAttachment(decodePrevResult(inv.config.prevResult), env.ifName, netns);
  const params: CheckParams = {
    ...keyOf(inv.config, env),
    netns,
    ...(inv.config.mtu === undefined ? {} : { mtu: inv.config.mtu }),
    ...(own === undefined ? {} : { prevAddresses: own.addresses }),
  };
  const result = await call(inv, 'check', params, CNI_ERROR.TryAgainLater);
  const problems = [...result.problems];
  if (own === undefined) problems.push(`prevResult has no interface ${env.ifName} in ${netns}`);
  if (!result.ok || problems.length > 0) {
    throw new CniError(CNI_ERROR.CheckFailed, `check failed: ${problems.length > 0 ? problems.join('; ') : 'no details given'}`);
  }
  inv.log.debug('CHECK ok');
  return { stdout: '', exitCode: 0 };
}

/**
 * STATUS (spec 1.1): 0 when the daemon answers and the pool can serve or grow; 50 when the
 * daemon cannot be reached or is not ready; 51 when the pool is empty and cannot grow.
 */
async function status(inv: Invocation): Promise<PluginOutput> {
  let result: ResultOf<'status'>;
  try {
    result = await inv.deps.callDaemon(inv.config.socketPath, 'status', {}, { timeoutMs: inv.config.timeoutMs });
  } catch (err) {
    const failure = daemonFailure(err, CNI_ERROR.NotAvailable);
    if (failure.code === CNI_ERROR.NotAvailable || failure.code === CNI_ERROR.TryAgainLater) {
      throw new CniError(CNI_ERROR.NotAvailable, `plugin not available: ${failure.message}`, failure.details);
    }
    throw failure;
  }
  if (result.state === 'blocked') {
    const reason = result.reason ?? 'the pool is empty and cannot grow';
    throw new CniError(CNI_ERROR.NotAvailableNoAddresses, `no IP addresses available: ${reason}`, `pool: ${JSON.stringify(result.pool)}`);
  }
  inv.log.debug('STATUS ok', { state: result.state, available: result.pool.available });
  return { stdout: '', exitCode: 0 };
}

/**
 * GC (spec 1.1): releases every allocation of this network whose attachment is not listed in
 * `cni.dev/valid-attachments`, and the host objects no allocation owns.
 */
async function gc(inv: Invocation): Promise<PluginOutput> {
  const validAttachments = parseValidAttachments(inv.raw);
  const result = await call(inv, 'gc', { networkName: inv.config.name, validAttachments }, CNI_ERROR.TryAgainLater);
  inv.log.info('GC done', { released: result.released, removed: result.removed ?? [] });
  return { stdout: '', exitCode: 0 };
}

function keyOf(config: NetworkConfig, env: CommandEnv): DelParams {
  return {
    networkName: config.name,
    containerId: env.containerId,
    ifName: env.ifName,
    ...(env.podNamespace === undefined ? {} : { podNamespace: env.podNamespace }),
    ...(env.podName === undefined ? {} : { podName: env.podName }),
  };
}

async function call<M extends RpcMethod>(
  inv: Invocation,
  method: M,
  params: MethodMap[M]['params'],
  unreachableCode: number,
): Promise<ResultOf<M>> {
  try {
    return await inv.deps.callDaemon(inv.config.socketPath, method, params, { timeoutMs: inv.config.timeoutMs });
  } catch (err) {
    throw daemonFailure(err, unreachableCode);
  }
}

/**
 * Maps a failed daemon call to the CNI error: the daemon's own errors keep their CNI code and
 * message; an unreachable, slow or vanished daemon is `unreachableCode` (11 for ADD/CHECK,
 * 50 for STATUS).
 */
export function daemonFailure(err: unknown, unreachableCode: number): CniError {
  if (!(err instanceof RpcCallError)) {
    return new CniError(CNI_ERROR.Internal, `internal error in nativeip-cni: ${err instanceof Error ? err.message : String(err)}`);
  }
  switch (err.kind) {
    case 'remote': {
      const body = err.body;
      if (body === undefined) return new CniError(CNI_ERROR.Internal, err.message);
      return new CniError(body.cniCode, body.message, `nativeip-ipamd error ${body.code}${body.retryable ? ' (retryable)' : ''}`);
    }
    case 'unreachable':
    case 'timeout':
    case 'disconnected':
      return new CniError(
        unreachableCode,
        unreachableCode === CNI_ERROR.TryAgainLater ? `try again later: ${err.message}` : err.message,
      );
    case 'protocol':
      return new CniError(err.body?.cniCode ?? CNI_ERROR.Internal, err.message);
  }
}

function success(value: unknown): PluginOutput {
  return { stdout: `${JSON.stringify(value)}\n`, exitCode: 0 };
}
