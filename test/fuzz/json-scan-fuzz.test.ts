/**
 * Fuzzes the plugin shim's JSON scanner (src/cni/shim/json-scan.c) with the deterministic driver
 * of json-scan-fuzz.c built with AddressSanitizer and UndefinedBehaviorSanitizer, and compares
 * its verdicts with JSON.parse and the plugin logic's own syntax checker on generated inputs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findJsonSyntaxError } from '../../src/cni/plugin/json-syntax.js';

const root = join(import.meta.dirname, '..', '..');
const shim = join(root, 'src', 'cni', 'shim');
const work = mkdtempSync(join(tmpdir(), 'nativeip-fuzz-'));
const driver = join(work, 'json-scan-fuzz');
const SANITIZERS = ['-fsanitize=address,undefined', '-fno-sanitize-recover=all'];
const sanitizerEnv = { ...process.env, ASAN_OPTIONS: 'detect_leaks=0', UBSAN_OPTIONS: 'print_stacktrace=1' };

/** Why the sanitizer build cannot run here, or undefined when it can. */
function skipReason(): string | undefined {
  const probe = join(work, 'probe.c');
  writeFileSync(probe, 'int main(void) { return 0; }\n');
  const out = spawnSync('cc', [...SANITIZERS, '-o', join(work, 'probe'), probe], { encoding: 'utf8' });
  if (out.error !== undefined) return `no C compiler (cc): ${out.error.message}`;
  if (out.status !== 0) return `cc cannot build with ${SANITIZERS[0]}: ${out.stderr.trim().split('\n')[0] ?? ''}`;
  return undefined;
}

const skip = skipReason();
if (skip !== undefined) console.warn(`skipping the JSON scanner fuzz tests: ${skip}`);

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEEDS = [
  '{"cniVersion":"1.0.0","name":"nativeip","type":"nativeip-cni","socketPath":"/run/nativeip/ipamd.sock","timeoutMs":300}',
  '{"prevResult":{"ips":[{"address":"10.0.0.2/32","gateway":"169.254.1.1"}],"socketPath":"/x"},"cniVersions":["0.4.0","1.1.0"]}',
  '[1,-2.5e+3,0.0,1E-7,true,false,null,"\\b\\f\\n\\r\\t\\/\\"\\\\",{},[],{"a":[{"a":{}}]}]',
  '{"a":"\\u00e9\\ud83d\\ude00\\udc00","b":"é€😀","c":-0,"d":1e999}',
  ' \t\r\n"text" ',
];
const TOKENS = ['{', '}', '[', ']', ':', ',', '"', '\\', '\\u', '\\ud83d', '\\uZZ', 'true', 'nul', 'null', '-', '0', '1.', 'e+', '.5', ' ', '\n', '\t', '\u0001', '\u007f', 'é', '\ufeff', '"a":'];

function mutations(count: number, seed: number): Buffer[] {
  const rnd = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)] as T;
  const inputs: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    let text = pick(SEEDS);
    const rounds = 1 + Math.floor(rnd() * 3);
    for (let r = 0; r < rounds; r++) {
      const at = Math.floor(rnd() * (text.length + 1));
      const op = rnd();
      if (op < 0.35) text = text.slice(0, at) + pick(TOKENS) + text.slice(at);
      else if (op < 0.7) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(rnd() * 3));
      else text = text.slice(0, at) + pick(TOKENS) + text.slice(at + 1);
    }
    const bytes = Buffer.from(text, 'utf8');
    // Now and then a raw byte that is not UTF-8, or a cut through a multi-byte character.
    if (rnd() < 0.05 && bytes.length > 0) bytes[Math.floor(rnd() * bytes.length)] = 0x80 + Math.floor(rnd() * 0x80);
    inputs.push(rnd() < 0.05 ? bytes.subarray(0, Math.floor(rnd() * bytes.length)) : bytes);
  }
  return inputs;
}

type Verdict = { readonly ok: true; readonly kind: number } | { readonly ok: false; readonly offset?: number; readonly problem?: string };

const KIND = { object: 1, array: 2, string: 3, number: 4, true: 5, false: 6, null: 7 } as const;

function kindOf(value: unknown): number {
  if (value === null) return KIND.null;
  if (Array.isArray(value)) return KIND.array;
  if (value === true) return KIND.true;
  if (value === false) return KIND.false;
  return KIND[typeof value as 'object' | 'string' | 'number'];
}

/** What the plugin logic makes of the bytes: decodeStdin's UTF-8 check, JSON.parse, findJsonSyntaxError. */
function reference(bytes: Buffer): Verdict {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { ok: false };
  }
  try {
    return { ok: true, kind: kindOf(JSON.parse(text)) };
  } catch {
    const where = findJsonSyntaxError(text);
    return where === undefined ? { ok: false } : { ok: false, offset: where.offset, problem: where.problem };
  }
}

function parseVerdict(line: string): Verdict {
  const ok = /^ok (\d+)$/.exec(line);
  if (ok !== null) return { ok: true, kind: Number(ok[1]) };
  const error = /^error (\d+) (.*)$/.exec(line);
  if (error === null) throw new Error(`unexpected driver output: ${line}`);
  return { ok: false, offset: Number(error[1]), problem: error[2] ?? '' };
}

describe.skipIf(skip !== undefined)('JSON scanner of the plugin shim, fuzzed', () => {
  beforeAll(() => {
    const sources = [join(import.meta.dirname, 'json-scan-fuzz.c'), join(shim, 'json-scan.c'), join(shim, 'net-config.c')];
    const out = spawnSync('cc', ['-std=gnu11', '-g', '-O1', '-Wall', '-Wextra', '-Werror', ...SANITIZERS, `-I${shim}`, '-o', driver, ...sources], { encoding: 'utf8' });
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
  }, 120_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it.each([1, 2])('mutated inputs (3,000 x 8, seed %i): no memory error, no undefined behaviour, no broken invariant', (seed) => {
    const out = spawnSync(driver, ['mutate', '3000', String(seed)], { encoding: 'utf8', env: sanitizerEnv });
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/^3000 iterations x 8 inputs, \d+ valid\n$/);
  });

  it('agrees with JSON.parse on 4,000 generated inputs, and with the plugin logic on where ASCII input breaks', () => {
    const inputs = mutations(4000, 7);
    const framed = Buffer.concat(
      inputs.flatMap((input) => {
        const head = Buffer.alloc(4);
        head.writeUInt32BE(input.length);
        return [head, input];
      }),
    );
    const out = spawnSync(driver, ['classify'], { input: framed, encoding: 'utf8', env: sanitizerEnv, maxBuffer: 16 * 1024 * 1024 });
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    const lines = out.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(inputs.length);

    const disagreements: string[] = [];
    let valid = 0;
    let comparedOffsets = 0;
    inputs.forEach((input, k) => {
      const want = reference(input);
      const got = parseVerdict(lines[k] ?? '');
      const shown = JSON.stringify(input.toString('latin1'));
      if (want.ok !== got.ok || (want.ok && got.ok && want.kind !== got.kind)) {
        disagreements.push(`${shown}: JSON.parse ${JSON.stringify(want)}, scanner ${JSON.stringify(got)}`);
        return;
      }
      if (want.ok) valid += 1;
      // Offsets are bytes in C and UTF-16 units in TypeScript: the same only for ASCII.
      const ascii = input.every((byte) => byte < 0x80);
      if (!want.ok && !got.ok && ascii && want.offset !== undefined) {
        comparedOffsets += 1;
        // Escapes of control characters are worded differently (the TypeScript shows the raw character).
        const sameProblem = want.problem === got.problem || (want.problem?.startsWith('invalid escape') === true && got.problem?.startsWith('invalid escape') === true);
        if (want.offset !== got.offset || !sameProblem) disagreements.push(`${shown}: plugin logic ${JSON.stringify(want)}, scanner ${JSON.stringify(got)}`);
      }
    });
    expect(disagreements.slice(0, 10)).toEqual([]);
    // The generated inputs must exercise both sides.
    expect(valid).toBeGreaterThan(200);
    expect(comparedOffsets).toBeGreaterThan(1000);
  });
});
