/**
 * The `exec` method: a whole CNI invocation forwarded by the native plugin shim
 * (src/cni/shim/nativeip-cni.c). The plugin logic of src/cni/plugin runs here, in the warm
 * daemon, calling the daemon's own handlers in-process instead of over the socket: the runtime
 * sees exactly what the standalone plugin would print, without paying a JavaScript runtime's
 * start-up per pod.
 */
import { appendFileSync } from 'node:fs';
import type { CallDaemon } from '../../cni/plugin/run-command.js';
import { runCommand } from '../../cni/plugin/run-command.js';
import { RpcCallError, toRpcError } from '../../rpc/errors.js';
import type { ExecParams, ExecResult, MethodMap, RpcMethod } from '../../rpc/protocol.js';

export type InProcessHandlers = { [M in Exclude<RpcMethod, 'exec'>]: (params: MethodMap[M]['params']) => Promise<MethodMap[M]['result']> };

export function createExecHandler(handlers: InProcessHandlers, options: { clock?: () => number } = {}): (params: ExecParams) => Promise<ExecResult> {
  const callDaemon: CallDaemon = async (socketPath, method, params) => {
    if (method === 'exec') throw new Error('exec cannot call exec');
    const handler = handlers[method as Exclude<RpcMethod, 'exec'>] as (p: unknown) => Promise<unknown>;
    try {
      return (await handler(params)) as never;
    } catch (error) {
      // The same failure a remote call would report, so the plugin maps it to the same CNI code.
      throw new RpcCallError('remote', (error as Error).message, { socketPath, body: toRpcError(error), cause: error });
    }
  };
  const now = options.clock ?? Date.now;
  return async (params) => {
    const output = await runCommand(
      { env: params.env, stdin: Buffer.from(params.stdinBase64, 'base64') },
      { callDaemon, appendLog: (file, line) => appendFileSync(file, line), now },
    );
    return { stdoutBase64: Buffer.from(output.stdout, 'utf8').toString('base64'), exitCode: output.exitCode };
  };
}
