/**
 * Asks a cloud's instance metadata service whether it answers, for `NATIVEIP_CLOUD=auto`. Each
 * cloud's plugin says where to ask and what a real answer looks like. Both AWS and Azure serve
 * their metadata at 169.254.169.254 but speak differently, so a probe must check the answer, not
 * only that something answered.
 */
import type { ProbeResult } from '../core/cloud-plugin.js';
import { fetchFailureName } from '../core/fetch-failure.js';

export const LINK_LOCAL_METADATA = 'http://169.254.169.254';

/** `ok` when `url` answers 2xx with a body `accept` recognises; else why not. Never throws. */
export async function probeMetadata(url: URL, init: RequestInit, timeoutMs: number, accept: (body: string) => boolean): Promise<ProbeResult> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    const body = await response.text();
    if (!response.ok) return { ok: false, why: `${url.origin} answered HTTP ${response.status}` };
    return accept(body) ? { ok: true } : { ok: false, why: `${url.origin} answered something else` };
  } catch (error) {
    return { ok: false, why: `${url.origin}: ${fetchFailureName(error)}` };
  }
}

