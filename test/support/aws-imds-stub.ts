/**
 * A small IMDSv2 server on 127.0.0.1 for tests: serves a fixed path → body tree, requires a
 * token from `PUT /latest/api/token`, and can inject failures and invalidate tokens.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ImdsStub {
  readonly url: string;
  /** Every request as `METHOD path`, in arrival order. */
  readonly requests: string[];
  /** Tokens handed out so far. */
  tokensIssued(): number;
  /** Makes every token issued so far invalid (IMDS answers 401 to them). */
  revokeTokens(): void;
  /** The next `statuses.length` requests for `path` get these statuses instead of an answer. */
  failNext(path: string, ...statuses: number[]): void;
  /** Replaces or adds entries of the tree. */
  set(path: string, body: string): void;
  close(): Promise<void>;
}

export async function startImdsStub(tree: Record<string, string>): Promise<ImdsStub> {
  const entries = new Map(Object.entries(tree));
  const requests: string[] = [];
  const valid = new Set<string>();
  const failures = new Map<string, number[]>();
  let issued = 0;

  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push(`${req.method ?? '?'} ${path}`);
    const queued = failures.get(path);
    const injected = queued?.shift();
    if (injected !== undefined) {
      res.writeHead(injected).end('injected failure');
      return;
    }
    if (req.method === 'PUT' && path === '/latest/api/token') {
      if (req.headers['x-aws-ec2-metadata-token-ttl-seconds'] === undefined) {
        res.writeHead(400).end('missing ttl');
        return;
      }
      issued += 1;
      const token = `token-${issued}`;
      valid.add(token);
      res.writeHead(200, { 'content-type': 'text/plain' }).end(token);
      return;
    }
    const token = req.headers['x-aws-ec2-metadata-token'];
    if (req.method !== 'GET' || typeof token !== 'string' || !valid.has(token)) {
      res.writeHead(401).end();
      return;
    }
    const body = entries.get(path);
    if (body === undefined) {
      res.writeHead(404).end('Not Found');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    tokensIssued: () => issued,
    revokeTokens: () => valid.clear(),
    failNext: (path, ...statuses) => failures.set(path, [...(failures.get(path) ?? []), ...statuses]),
    set: (path, body) => entries.set(path, body),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
}

export interface ImdsInterface {
  readonly mac: string;
  readonly deviceIndex: number;
  readonly interfaceId: string;
  readonly subnetId: string;
  readonly subnetCidr: string;
  readonly localIpv4s: readonly string[];
  readonly vpcCidrs: readonly string[];
  readonly securityGroupIds: readonly string[];
}

/** The meta-data tree of an instance, in the shape the provider reads. */
export function imdsTree(node: {
  instanceId: string;
  instanceType: string;
  region: string;
  interfaces: readonly ImdsInterface[];
}): Record<string, string> {
  const meta = '/latest/meta-data';
  const primary = node.interfaces.find((eni) => eni.deviceIndex === 0);
  if (primary === undefined) throw new Error('imdsTree needs an interface at device index 0');
  const tree: Record<string, string> = {
    [`${meta}/instance-id`]: node.instanceId,
    [`${meta}/instance-type`]: node.instanceType,
    [`${meta}/mac`]: primary.mac,
    [`${meta}/local-ipv4`]: primary.localIpv4s[0] ?? '',
    [`${meta}/placement/region`]: node.region,
    [`${meta}/network/interfaces/macs/`]: node.interfaces.map((eni) => `${eni.mac}/`).join('\n'),
  };
  for (const eni of node.interfaces) {
    const base = `${meta}/network/interfaces/macs/${eni.mac}`;
    tree[`${base}/device-number`] = String(eni.deviceIndex);
    tree[`${base}/interface-id`] = eni.interfaceId;
    tree[`${base}/subnet-id`] = eni.subnetId;
    tree[`${base}/subnet-ipv4-cidr-block`] = eni.subnetCidr;
    tree[`${base}/local-ipv4s`] = eni.localIpv4s.join('\n');
    tree[`${base}/vpc-ipv4-cidr-blocks`] = eni.vpcCidrs.join('\n');
    tree[`${base}/security-group-ids`] = eni.securityGroupIds.join('\n');
  }
  return tree;
}
