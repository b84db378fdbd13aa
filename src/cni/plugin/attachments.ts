/** The `cni.dev/valid-attachments` list a runtime passes with GC (spec 1.1). */

import { containerIdProblem, ifNameProblem } from '../../rpc/validate.js';
import { CNI_ERROR, CniError } from './cni-error.js';

export const VALID_ATTACHMENTS_KEY = 'cni.dev/valid-attachments';
/** The key's name in an earlier draft of the spec; libcni sends both with the same value. */
const DRAFT_ATTACHMENTS_KEY = 'cni.dev/attachments';

export interface Attachment {
  readonly containerId: string;
  readonly ifName: string;
}

/**
 * Reads the attachments still in use. Throws {@link CniError} code 7 when the key is absent
 * (GC without the list would release every pod of the network) or an entry is invalid.
 */
export function parseValidAttachments(raw: Readonly<Record<string, unknown>>): Attachment[] {
  const value = raw[VALID_ATTACHMENTS_KEY] ?? raw[DRAFT_ATTACHMENTS_KEY];
  if (value === undefined) {
    throw invalid(`${VALID_ATTACHMENTS_KEY} is required for GC (an empty list releases every attachment of the network)`);
  }
  if (!Array.isArray(value)) throw invalid(`${VALID_ATTACHMENTS_KEY}: expected a list of {"containerID", "ifname"} objects`);
  return value.map((item: unknown, i) => {
    const path = `${VALID_ATTACHMENTS_KEY}[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw invalid(`${path}: expected an object`);
    const { containerID, ifname } = item as Record<string, unknown>;
    if (typeof containerID !== 'string') throw invalid(`${path}.containerID: expected a string`);
    if (typeof ifname !== 'string') throw invalid(`${path}.ifname: expected a string`);
    const problem = containerIdProblem(containerID) ?? ifNameProblem(ifname);
    if (problem !== undefined) throw invalid(`${path}: ${problem}`);
    return { containerId: containerID, ifName: ifname };
  });
}

function invalid(problem: string): CniError {
  return new CniError(CNI_ERROR.InvalidNetworkConfig, `invalid network config: ${problem}`);
}
