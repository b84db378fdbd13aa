/**
 * Whether the AWS VPC CNI's daemon (aws-node's ipamd) runs on this node: it serves its CNI plugin
 * over gRPC on 127.0.0.1:50051 in the host's network namespace, which nativeip shares (host
 * network). Two IPAM daemons on one node would hand out the same addresses of the same ENIs, so
 * nativeip waits while it answers (src/ipamd/other-agent-wait.ts).
 */
import { connect } from 'node:net';

/** Where aws-node's ipamd serves its plugin. */
export const AWS_NODE_IPAMD = { host: '127.0.0.1', port: 50051 } as const;

/** True when something accepts a TCP connection at `host:port` within `timeoutMs`. */
export function acceptsConnections(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** What is seen of aws-node at `address` (unset: the check is off), for a log line; undefined when nothing answers. */
export async function awsNodeOnNode(address: { readonly host: string; readonly port: number } | undefined): Promise<string | undefined> {
  if (address === undefined) return undefined;
  if (!(await acceptsConnections(address.host, address.port))) return undefined;
  return `something answers on ${address.host}:${address.port}, where aws-node's ipamd serves its plugin (set NATIVEIP_AWS_NODE_ADDRESS=off if it is not aws-node)`;
}
