/**
 * Variable names the daemon does not read that are misspellings of ones it does (errors). The AWS
 * VPC CNI's own settings are not misspellings: they are judged by their table (vpc-cni-variables.ts). Pure.
 */

import type { ConfigIssue } from './config.js';
import { KNOWN_NAMES } from './config-variables.js';
import { VPC_CNI_VARIABLE_NAMES } from './vpc-cni-variables.js';

const NATIVEIP_PREFIX = 'NATIVEIP_';

/**
 * Names in the AWS VPC CNI's families that we check for misspellings. Other names (PATH, HOME,
 * AWS_REGION, AWS_ACCESS_KEY_ID, …) belong to other software and are never judged.
 */
const VPC_CNI_FAMILY_PREFIXES = ['WARM_', 'MINIMUM_', 'MAX_ENI', 'AWS_VPC_', 'IP_COOLDOWN'] as const;

/** Largest edit distance at which an AWS-family name counts as a misspelling. */
const VPC_CNI_TYPO_DISTANCE = 2;

/**
 * Unknown `NATIVEIP_*` names (any letter case), and names in the AWS families within
 * {@link VPC_CNI_TYPO_DISTANCE} edits of a name we read. Names of the AWS VPC CNI's own table
 * (vpc-cni-variables.ts) are not misspellings. Variables with empty values are unset and not judged.
 */
export function findMisspelledVariables(env: Readonly<Record<string, string | undefined>>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!isSet(env[name]) || KNOWN_NAMES.has(name)) continue;
    const upper = name.toUpperCase();
    if (upper.startsWith(NATIVEIP_PREFIX)) {
      issues.push({ env: name, message: unknownNativeipMessage(name) });
      continue;
    }
    if (!VPC_CNI_FAMILY_PREFIXES.some((p) => upper.startsWith(p)) || VPC_CNI_VARIABLE_NAMES.has(name)) {
      continue;
    }
    const nearest = closest(upper, [...KNOWN_NAMES].filter((n) => !n.startsWith(NATIVEIP_PREFIX)));
    if (nearest !== undefined && nearest.distance <= VPC_CNI_TYPO_DISTANCE) {
      issues.push({ env: name, message: `${notRead(name, nearest.name)}; did you mean ${nearest.name}?` });
    }
  }
  return issues;
}

function unknownNativeipMessage(name: string): string {
  const candidates = [...KNOWN_NAMES].filter((n) => n.startsWith(NATIVEIP_PREFIX));
  const nearest = closest(name.toUpperCase(), candidates);
  const suffixLength = name.length - NATIVEIP_PREFIX.length;
  if (nearest !== undefined && nearest.distance <= Math.max(2, Math.floor(suffixLength / 3))) {
    return `${notRead(name, nearest.name)}; did you mean ${nearest.name}?`;
  }
  return `${notRead(name, undefined)}; the NATIVEIP_ variables are ${candidates.sort().join(', ')}`;
}

function notRead(name: string, suggestion: string | undefined): string {
  const caseOnly = suggestion !== undefined && suggestion === name.toUpperCase();
  return `${name}: not a variable nativeip reads${caseOnly ? ' (names are case-sensitive)' : ''}`;
}

function closest(
  name: string,
  candidates: readonly string[],
): { name: string; distance: number } | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (best === undefined || distance < best.distance) best = { name: candidate, distance };
  }
  return best;
}

/**
 * Optimal string alignment distance: insertions, deletions, substitutions and transpositions of
 * neighbours each cost 1, so `TARGTE` is one edit from `TARGET`.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, at(i - 2, j - 2) + 1);
      }
      d[i * cols + j] = value;
    }
  }
  return at(a.length, b.length);
}

function isSet(value: string | undefined): value is string {
  return value !== undefined && value !== '';
}
