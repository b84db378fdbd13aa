/**
 * The C shim (src/cni/shim/nativeip-cni.c) speaks the daemon's protocol without importing it: its
 * protocol version, frame limit, default socket path and CNI error codes are `#define`s. They must
 * equal the TypeScript definitions, or the shim and the daemon disagree on the wire.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { CNI_ERROR } from '../../src/cni/plugin/cni-error.js';
import { DEFAULT_SOCKET_PATH, MAX_FRAME_BYTES, PROTOCOL_VERSION } from '../../src/rpc/protocol.js';

const SHIM = readFileSync(join(import.meta.dirname, '../../src/cni/shim/nativeip-cni.c'), 'utf8');

/** The value of `#define name value` in the shim, evaluated as a C integer or string literal. */
function define(name: string): number | string {
  const match = new RegExp(`^#define ${name} (.+)$`, 'm').exec(SHIM);
  if (match === null) throw new Error(`the shim has no #define ${name}`);
  const text = match[1]!.replace(/\/\*.*\*\//, '').trim();
  if (text.startsWith('"')) return JSON.parse(text) as string;
  if (!/^[0-9 ()*+L]+$/.test(text)) throw new Error(`#define ${name} is not a constant expression: ${text}`);
  return Number(new Function(`return (${text.replace(/L/g, '')});`)());
}

it.each([
  ['PROTOCOL_VERSION', PROTOCOL_VERSION],
  ['MAX_FRAME', MAX_FRAME_BYTES],
  ['DEFAULT_SOCKET', DEFAULT_SOCKET_PATH],
  ['CNI_DECODING_FAILURE', CNI_ERROR.DecodingFailure],
  ['CNI_INVALID_CONFIG', CNI_ERROR.InvalidNetworkConfig],
  ['CNI_TRY_AGAIN_LATER', CNI_ERROR.TryAgainLater],
  ['CNI_NOT_AVAILABLE', CNI_ERROR.NotAvailable],
  ['CNI_INTERNAL', CNI_ERROR.Internal],
] as const)('the shim\'s %s equals the TypeScript definition', (name, expected) => {
  expect(define(name)).toBe(expected);
});
