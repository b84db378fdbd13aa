/**
 * Run by Bun from rpc-client-bun.test.ts: one callDaemon through the transport Bun picks, printed
 * as JSON. argv: socketPath method paramsFile (JSON) timeoutMs
 */
import { readFileSync } from 'node:fs';
import { callDaemon } from '../../src/rpc/client.js';
import { RpcCallError } from '../../src/rpc/errors.js';
import type { RpcMethod } from '../../src/rpc/protocol.js';
import { defaultTransport } from '../../src/rpc/transport.js';

const [socketPath = '', method = 'status', paramsFile = '', timeoutMs = '2000'] = process.argv.slice(2);
const transport = defaultTransport();
try {
  const params: unknown = JSON.parse(readFileSync(paramsFile, 'utf8'));
  const result = await callDaemon(socketPath, method as RpcMethod, params as never, { timeoutMs: Number(timeoutMs) });
  process.stdout.write(`${JSON.stringify({ transport, result })}\n`);
} catch (err) {
  const e = err as RpcCallError;
  const error = err instanceof RpcCallError ? { kind: e.kind, message: e.message, errno: e.errno, body: e.body } : { message: String(err) };
  process.stdout.write(`${JSON.stringify({ transport, error })}\n`);
}
