/**
 * What `nativeip emulator aws` and `nativeip emulator azure` share: the commands' flag parser with
 * the emulators' error, whole numbers and HOST:PORT naming their flag, and running an emulator until
 * SIGINT/SIGTERM.
 */
import { once } from 'node:events';
import { parseFlags as parseCommandFlags, type FlagSpec as CoreFlagSpec, type ParsedFlags } from '../core/cli-flags.js';

/** Makes the cloud's own CLI error from a message. */
export type CliErrorFactory = (message: string) => Error;

export interface FlagSpec extends CoreFlagSpec {
  /** The usage line quoted when an argument is unknown. */
  readonly usage: string;
}

export type { ParsedFlags };

/**
 * The flag parser of every command (src/core/cli-flags.ts), with the emulator's own error; an
 * unknown argument's message quotes the usage line (`nativeip` prints no other usage for an
 * emulator).
 */
export function parseFlags(argv: readonly string[], spec: FlagSpec, fail: CliErrorFactory): ParsedFlags {
  return parseCommandFlags(argv, spec, (problem) => fail(problem.code === 'unknown' ? `unknown argument '${problem.flag}'; usage: ${spec.usage}` : problem.message));
}

/** A whole number from `min` to `max`, or an error naming the flag. */
export function wholeNumber(flag: string, text: string, min: number, max: number, fail: CliErrorFactory): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw fail(`${flag}: '${text}' is not a whole number from ${min} to ${max}`);
  }
  return Number(text);
}

/** `--listen HOST:PORT` (`[v6]:PORT` too); `example` is quoted when the text is not of that form. */
export function parseListen(text: string, example: string, fail: CliErrorFactory): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  if (match === null) throw fail(`--listen: '${text}' is not HOST:PORT (e.g. ${example})`);
  return { host: match[1] ?? match[2] ?? '', port: wholeNumber('--listen', match[3] ?? '', 0, 65535, fail) };
}

export interface EmulatorCliDeps {
  /** Where the JSON line goes; default stdout. */
  readonly write?: (line: string) => void;
  /** Resolves when the emulator should stop; default the first SIGINT or SIGTERM. */
  readonly until?: Promise<unknown>;
}

function untilSignal(): Promise<unknown> {
  const controller = new AbortController();
  return Promise.race([
    once(process, 'SIGINT', { signal: controller.signal }),
    once(process, 'SIGTERM', { signal: controller.signal }),
  ]).finally(() => controller.abort());
}

/**
 * Sets the emulator up with `announce` (which returns what to print), prints that as one JSON
 * line, waits until told to stop, and closes the emulator whatever happened.
 */
export async function runUntilStopped(emulator: { close(): Promise<void> }, deps: EmulatorCliDeps, announce: () => Promise<unknown>): Promise<void> {
  const until = deps.until ?? untilSignal();
  try {
    const line = JSON.stringify(await announce());
    (deps.write ?? ((l: string) => process.stdout.write(`${l}\n`)))(line);
    await until;
  } finally {
    await emulator.close();
  }
}
