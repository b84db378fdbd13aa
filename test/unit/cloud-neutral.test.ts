/**
 * A cloud is a plug-in: outside its own folders (src/providers/<cloud>, src/emulator/<cloud>) and
 * the registry (src/ipamd/clouds.ts), the daemon's code names no cloud. Read with the TypeScript
 * parser, so comments (which may well compare nativeip with the AWS VPC CNI) do not count; what
 * counts is code: a string literal that is a cloud's name, an import from a cloud's folder, an
 * identifier that carries a cloud's name.
 *
 * Covered: every file of src/ but a cloud's two folders and the two registries: the daemon and what
 * it is built from, the `nativeip` command, the emulated cluster, the simulators (src/sim), the
 * providers' shared files, and the emulators' shared parts (fabric, faults, plugin contract).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { expect, it } from 'vitest';
import { CLOUD_PLUGINS } from '../../src/ipamd/clouds.js';

const ROOT = join(import.meta.dirname, '../..');
/** A cloud's own folders: `src/providers/<cloud>`, `src/emulator/<cloud>`. */
const CLOUD_FOLDERS = CLOUD_PLUGINS.flatMap((p) => [`src/providers/${p.name}`, `src/emulator/${p.name}`]);
const REGISTRIES = ['src/ipamd/clouds.ts', 'src/emulator/clouds.ts'];
/**
 * Words that betray a cloud in code, beyond the plugins' own names: its APIs' names, from its own
 * descriptor (CloudPlugin.codeWords: `ec2`).
 */
const CLOUD_WORDS: Record<string, readonly string[]> = Object.fromEntries(CLOUD_PLUGINS.map((p) => [p.name, p.codeWords]));
/** Words that betray a cloud in text a user reads, though too common in names to look for there (CloudPlugin.textWords: `arm` a timer). */
const CLOUD_TEXT_WORDS: Record<string, readonly string[]> = Object.fromEntries(CLOUD_PLUGINS.map((p) => [p.name, p.textWords]));

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesUnder(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

interface Mention {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

/** The words of each cloud (its name, its APIs' names), as whole words, any case. */
function cloudWordPatterns(): Array<{ readonly cloud: string; readonly word: RegExp }> {
  return CLOUD_PLUGINS.flatMap((p) => [p.name, ...(CLOUD_WORDS[p.name] ?? []), ...(CLOUD_TEXT_WORDS[p.name] ?? [])].map((w) => ({ cloud: p.name, word: new RegExp(`(?<![A-Za-z0-9])${w}(?![A-Za-z])`, 'i') })));
}

/**
 * The AWS VPC CNI is the product nativeip is a drop-in for, on every cloud: its name and its
 * variables' names (`AWS_VPC_K8S_CNI_*`, WARM_ENI_TARGET …) are nativeip's vocabulary, not a cloud's.
 */
const VPC_CNI_VOCABULARY = /AWS VPC CNI|\bAWS_[A-Z0-9_]*/g;

/** Where a file's code (not its comments) names a cloud. */
function mentions(path: string): Mention[] {
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const names = CLOUD_PLUGINS.map((p) => p.name.toLowerCase());
  const patterns = cloudWordPatterns();
  const found: Mention[] = [];
  const at = (node: ts.Node, text: string) => found.push({ file: relative(ROOT, path), line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1, text });
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) {
      const from = node.moduleSpecifier;
      if (from !== undefined && ts.isStringLiteral(from) && names.some((n) => new RegExp(`/(providers|emulator)/${n}(/|$)`).test(from.text))) at(node, `import from ${from.text}`);
      return;
    }
    if (ts.isStringLiteralLike(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) {
      // Text a user reads: a cloud's name or its APIs' names, as words.
      const text = node.text.replace(VPC_CNI_VOCABULARY, '');
      if (patterns.some((p) => p.word.test(text))) at(node, `'${node.text}'`);
    } else if (ts.isIdentifier(node)) {
      const words = node.text.split(/(?<=[a-z0-9])(?=[A-Z])|_/).map((w) => w.toLowerCase());
      const cloud = names.find((n) => [n, ...(CLOUD_WORDS[n] ?? [])].some((w) => words.includes(w)));
      if (cloud !== undefined) at(node, node.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

it('outside a cloud\'s two folders, no code in src/ names a cloud (only the registries do)', () => {
  const files = filesUnder(join(ROOT, 'src')).filter((f) => {
    const path = relative(ROOT, f);
    return !REGISTRIES.includes(path) && !CLOUD_FOLDERS.some((folder) => path.startsWith(`${folder}/`));
  });
  expect(files.length).toBeGreaterThan(150);
  expect(files.flatMap(mentions)).toEqual([]);
});

it('looks for the AWS and Azure words it always did, now from their descriptors', () => {
  expect(CLOUD_WORDS).toMatchObject({ aws: ['ec2'], azure: [] });
  expect(CLOUD_TEXT_WORDS).toMatchObject({ aws: ['imdsv2'], azure: ['arm'] });
});

it('the check finds what it looks for', () => {
  const registry = mentions(join(ROOT, REGISTRIES[0]!));
  expect(registry.map((m) => m.text)).toEqual(expect.arrayContaining(['import from ../providers/aws/plugin.js', 'awsPlugin', 'azurePlugin']));
});
