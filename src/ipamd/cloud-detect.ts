/**
 * `NATIVEIP_CLOUD=auto`: which cloud the node runs in, from which metadata service answers. Both
 * clouds serve IMDS at 169.254.169.254 but speak differently: AWS answers `PUT
 * /latest/api/token` (IMDSv2), Azure answers `GET /metadata/instance` with `Metadata: true`.
 * Both are asked at once with a short timeout.
 */

export type DetectedCloud = 'aws' | 'azure';

/** What one probe found: `ok`, or why not (for the error message). */
export type ProbeResult = { readonly ok: true } | { readonly ok: false; readonly why: string };

export class CloudDetectionError extends Error {
  override readonly name = 'CloudDetectionError';
}

/** The cloud whose probe succeeded; throws CloudDetectionError when none or both did. Pure. */
export function chooseCloud(aws: ProbeResult, azure: ProbeResult): DetectedCloud {
  if (aws.ok && !azure.ok) return 'aws';
  if (azure.ok && !aws.ok) return 'azure';
  if (aws.ok && azure.ok) throw new CloudDetectionError('both the AWS and the Azure metadata services answered; set NATIVEIP_CLOUD to aws or azure');
  const awsWhy = aws.ok ? '' : aws.why;
  const azureWhy = azure.ok ? '' : azure.why;
  throw new CloudDetectionError(`no cloud metadata service answered (AWS: ${awsWhy}; Azure: ${azureWhy}); set NATIVEIP_CLOUD to aws or azure`);
}

export interface DetectOptions {
  /** Default `http://169.254.169.254`. */
  readonly awsImdsEndpoint?: string;
  /** Default `http://169.254.169.254`. */
  readonly azureImdsEndpoint?: string;
  /** Per probe. Default 1000 ms. */
  readonly timeoutMs?: number;
}

const DEFAULT_IMDS = 'http://169.254.169.254';

async function probe(url: URL, init: RequestInit, timeoutMs: number, accept: (body: string) => boolean): Promise<ProbeResult> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    const body = await response.text();
    if (!response.ok) return { ok: false, why: `${url.origin} answered HTTP ${response.status}` };
    return accept(body) ? { ok: true } : { ok: false, why: `${url.origin} answered something else` };
  } catch (error) {
    return { ok: false, why: `${url.origin}: ${failureName(error)}` };
  }
}

/** `ECONNREFUSED`, `TimeoutError`, …: the most precise name of a failed fetch. */
function failureName(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; errors?: { code?: unknown }[]; message?: unknown } }).cause;
  const code = cause?.code ?? cause?.errors?.[0]?.code;
  if (typeof code === 'string') return code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.name : String(error);
}

export function probeAws(endpoint: string = DEFAULT_IMDS, timeoutMs = 1000): Promise<ProbeResult> {
  return probe(new URL('/latest/api/token', endpoint), { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' } }, timeoutMs, (body) => body.trim() !== '');
}

export function probeAzure(endpoint: string = DEFAULT_IMDS, timeoutMs = 1000): Promise<ProbeResult> {
  return probe(new URL('/metadata/instance?api-version=2021-02-01', endpoint), { headers: { Metadata: 'true' } }, timeoutMs, (body) => {
    try {
      const doc = JSON.parse(body) as { compute?: { subscriptionId?: unknown } };
      return typeof doc.compute?.subscriptionId === 'string';
    } catch {
      return false;
    }
  });
}

/** Probes both metadata services at once and returns the cloud; throws CloudDetectionError. */
export async function detectCloud(options: DetectOptions = {}): Promise<DetectedCloud> {
  const timeoutMs = options.timeoutMs ?? 1000;
  const [aws, azure] = await Promise.all([probeAws(options.awsImdsEndpoint, timeoutMs), probeAzure(options.azureImdsEndpoint, timeoutMs)]);
  return chooseCloud(aws, azure);
}
