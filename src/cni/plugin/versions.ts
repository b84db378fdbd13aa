/** CNI spec versions and commands this plugin speaks, and which command needs which version. */

/** Oldest first. */
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
export const LATEST_VERSION: CniVersion = '1.1.0';

export const CNI_COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const;
export type CniCommand = (typeof CNI_COMMANDS)[number];

/** The first spec version that defines each command. */
const COMMAND_SINCE: Readonly<Record<CniCommand, string>> = {
  ADD: '0.1.0',
  DEL: '0.1.0',
  VERSION: '0.1.0',
  CHECK: '0.4.0',
  STATUS: '1.1.0',
  GC: '1.1.0',
};

export function isSupportedVersion(version: string): version is CniVersion {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(version);
}

/**
 * The highest version in `versions` this plugin supports (spec 1.1 `cniVersions`: the reader
 * picks the highest version both sides know), or undefined when none is.
 */
export function highestSupported(versions: readonly string[]): CniVersion | undefined {
  let best: CniVersion | undefined;
  for (const v of versions) {
    if (isSupportedVersion(v) && (best === undefined || compareVersions(v, best) > 0)) best = v;
  }
  return best;
}

export function isCniCommand(command: string): command is CniCommand {
  return (CNI_COMMANDS as readonly string[]).includes(command);
}

/** Compares dotted numeric versions (`0.4.0` < `1.0.0`); a missing part counts as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i += 1) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

/** The spec version that introduced `command`. */
export function commandSince(command: CniCommand): string {
  return COMMAND_SINCE[command];
}

export function commandAllowed(command: CniCommand, version: CniVersion): boolean {
  return compareVersions(version, COMMAND_SINCE[command]) >= 0;
}

/** Results before 1.0.0 carry `"version": "4"|"6"` on each IP. */
export function ipsCarryVersion(version: CniVersion): boolean {
  return compareVersions(version, '1.0.0') < 0;
}
