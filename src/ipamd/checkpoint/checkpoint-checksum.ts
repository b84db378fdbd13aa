/**
 * The checkpoint's checksum: SHA-256 of its JSON text without the checksum, written into the file
 * as its last member. A file changed on disk (bit rot, a torn or partial overwrite, a stray edit)
 * no longer matches and is read as damaged, so that a record which still parses and validates
 * (a container id or an interface name with one character changed) is never trusted: nothing
 * else on the node could tell it is wrong (found by the crash campaign, AWS seed 1: a garbled
 * container id left a live pod's allocation under a name its DEL never gives). kubelet's
 * checkpoint manager checksums its files the same way.
 */
import { createHash } from 'node:crypto';

export const CHECKSUM_MEMBER = 'checksum';

function digest(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** The JSON text of `value` (a checkpoint object) with its checksum as the last member; an old checksum is replaced. */
export function signCheckpoint(value: Readonly<Record<string, unknown>>): string {
  const body: Record<string, unknown> = { ...value };
  delete body[CHECKSUM_MEMBER];
  return JSON.stringify({ ...body, [CHECKSUM_MEMBER]: digest(JSON.stringify(body)) });
}

/**
 * Whether a parsed checkpoint's checksum matches its other members: 'match', 'mismatch', or
 * 'absent' (a file written before checksums, read as it is). Pure.
 */
export function verifyChecksum(value: Readonly<Record<string, unknown>>): 'match' | 'mismatch' | 'absent' {
  if (!(CHECKSUM_MEMBER in value)) return 'absent';
  const { [CHECKSUM_MEMBER]: checksum, ...body } = value;
  // JSON.parse keeps the members' order and JSON.stringify writes strings and numbers one way
  // only, so the body's text is the text that was signed.
  return typeof checksum === 'string' && checksum === digest(JSON.stringify(body)) ? 'match' : 'mismatch';
}
