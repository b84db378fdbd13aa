/**
 * nativeip-cni entry point: read env and stdin, run the command, print, exit. Built into a
 * standalone executable with `bun build --compile`; runs under Node too.
 */

import { appendFileSync, readFileSync } from 'node:fs';

import { callDaemon } from '../../rpc/client.js';
import { CNI_ERROR, CniError, cniErrorJson } from './cni-error.js';
import { runCommand, type PluginOutput } from './run-command.js';
import { LATEST_VERSION } from './versions.js';

async function readStdin(): Promise<Uint8Array> {
  try {
    return readFileSync(0);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EAGAIN') return new Uint8Array();
  }
  // A non-blocking stdin (some terminals, some runtimes) cannot be read synchronously.
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function main(): Promise<void> {
  let output: PluginOutput;
  try {
    output = await runCommand(
      { env: process.env, stdin: await readStdin() },
      { callDaemon, appendLog: (file, line) => appendFileSync(file, line), now: Date.now },
    );
  } catch (err) {
    const failure = new CniError(CNI_ERROR.Internal, `internal error in nativeip-cni: ${String(err)}`);
    output = { stdout: `${JSON.stringify(cniErrorJson(LATEST_VERSION, failure))}\n`, exitCode: 1 };
  }
  if (output.stdout === '') process.exit(output.exitCode);
  process.stdout.write(output.stdout, () => process.exit(output.exitCode));
}

void main();
