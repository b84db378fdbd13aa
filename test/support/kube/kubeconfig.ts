/** Kubeconfig files and plain HTTPS probes for the local Kubernetes. */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { request } from 'node:https';

export type KubeCredentials =
  | { readonly token: string }
  | { readonly certPath: string; readonly keyPath: string };

export interface KubeconfigOptions {
  readonly server: string;
  readonly caPath: string;
  readonly credentials: KubeCredentials;
}

/** Writes a kubeconfig (JSON, which every Kubernetes client reads as YAML) with one context. */
export async function writeKubeconfig(path: string, options: KubeconfigOptions): Promise<void> {
  const user =
    'token' in options.credentials
      ? { token: options.credentials.token }
      : { 'client-certificate': options.credentials.certPath, 'client-key': options.credentials.keyPath };
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server: options.server, 'certificate-authority': options.caPath } }],
    users: [{ name: 'user', user }],
    contexts: [{ name: 'local', context: { cluster: 'local', user: 'user' } }],
    'current-context': 'local',
  };
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
}

export interface HttpsGetOptions {
  /** CA file to verify the server with; without it the certificate is not verified. */
  readonly caPath?: string;
  readonly token?: string;
  readonly timeoutMs?: number;
}

/** GET over HTTPS: the status and body (a rejected promise only for transport errors). */
export function httpsGet(url: string, options: HttpsGetOptions = {}): Promise<{ readonly status: number; readonly body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        ...(options.caPath !== undefined ? { ca: readFileSync(options.caPath) } : { rejectUnauthorized: false }),
        headers: options.token !== undefined ? { authorization: `Bearer ${options.token}` } : {},
        timeout: options.timeoutMs ?? 2000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
