import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { ImdsInterfaceView } from './ec2-model.js';
import { closeServer, listen, urlHost } from '../shared/http-util.js';
import type { ImdsInstanceInfo } from './imds-tree.js';
import { identityDocument, lookup, metadataTree } from './imds-tree.js';

export interface ImdsServerOptions {
  readonly info: ImdsInstanceInfo;
  /** The interfaces IMDS shows right now (already lagging by the propagation delay). */
  readonly interfaces: () => readonly ImdsInterfaceView[];
  readonly clock: () => number;
}

/** Why 21600: IMDSv2 token TTLs are 1 second to 6 hours. */
const MAX_TOKEN_TTL_SECONDS = 21600;
const CREDENTIAL_LIFETIME_MS = 6 * 3600_000;
const CREDENTIAL_REFRESH_MARGIN_MS = 15 * 60_000;

interface RoleCredentials {
  readonly document: string;
  readonly expiresAt: number;
}

/** IMDSv2 for one emulated instance: session tokens are mandatory for every GET. */
export class ImdsServer {
  private readonly options: ImdsServerOptions;
  private readonly server: Server;
  private readonly tokens = new Map<string, number>();
  private credentials: RoleCredentials | undefined;
  private baseUrl = '';

  constructor(options: ImdsServerOptions) {
    this.options = options;
    this.server = createServer((req, res) => this.handle(req, res));
  }

  get url(): string {
    return this.baseUrl;
  }

  async start(host: string, port = 0): Promise<void> {
    const bound = await listen(this.server, host, port);
    this.baseUrl = `http://${urlHost(host)}:${bound}`;
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    const path = new URL(req.url ?? '/', 'http://imds').pathname;
    if (path === '/latest/api/token') {
      if (req.method !== 'PUT') return send(res, 405, 'Method Not Allowed');
      return this.issueToken(req, res);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method Not Allowed');
    if (!this.validToken(req.headers['x-aws-ec2-metadata-token'])) return send(res, 401, 'Unauthorized');
    const body = this.resolve(path);
    if (body === undefined) return send(res, 404, 'Not Found');
    send(res, 200, body);
  }

  private issueToken(req: IncomingMessage, res: ServerResponse): void {
    if (req.headers['x-forwarded-for'] !== undefined) return send(res, 403, 'Forbidden');
    const ttlText = req.headers['x-aws-ec2-metadata-token-ttl-seconds'];
    const ttl = typeof ttlText === 'string' && /^\d+$/.test(ttlText) ? Number(ttlText) : Number.NaN;
    if (!(ttl >= 1 && ttl <= MAX_TOKEN_TTL_SECONDS)) return send(res, 400, 'Bad Request');
    const now = this.options.clock();
    for (const [token, expiresAt] of this.tokens) if (expiresAt <= now) this.tokens.delete(token);
    const token = randomBytes(40).toString('base64url');
    this.tokens.set(token, now + ttl * 1000);
    send(res, 200, token, { 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) });
  }

  private validToken(header: string | string[] | undefined): boolean {
    if (typeof header !== 'string') return false;
    const expiresAt = this.tokens.get(header);
    return expiresAt !== undefined && expiresAt > this.options.clock();
  }

  private resolve(path: string): string | undefined {
    const interfaces = this.options.interfaces();
    if (path === '/latest/dynamic/instance-identity/document') {
      const primary = interfaces.find((i) => i.deviceNumber === 0);
      return identityDocument(this.options.info, primary?.localIpv4s[0] ?? '');
    }
    if (path === '/latest' || path === '/latest/') return 'dynamic\nmeta-data';
    if (path !== '/latest/meta-data' && !path.startsWith('/latest/meta-data/')) return undefined;
    const tree = metadataTree(this.options.info, interfaces, this.roleCredentials());
    return lookup(tree, path.slice('/latest/meta-data'.length));
  }

  private roleCredentials(): string {
    const now = this.options.clock();
    if (this.credentials === undefined || this.credentials.expiresAt - CREDENTIAL_REFRESH_MARGIN_MS <= now) {
      const expiresAt = now + CREDENTIAL_LIFETIME_MS;
      const document = JSON.stringify(
        {
          Code: 'Success',
          LastUpdated: new Date(now).toISOString(),
          Type: 'AWS-HMAC',
          AccessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
          SecretAccessKey: randomBytes(30).toString('base64'),
          Token: randomBytes(96).toString('base64'),
          Expiration: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        },
        null,
        2,
      );
      this.credentials = { document, expiresAt };
    }
    return this.credentials.document;
  }
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}
