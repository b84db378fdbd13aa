import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { waitWhileOtherAgentRuns } from '../../src/ipamd/other-agent-wait.js';
import { acceptsConnections, awsNodeOnNode } from '../../src/providers/aws/aws-node-probe.js';

function recordingLogger() {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (_obj: unknown, msg?: string) => lines.push({ level, msg: msg ?? '' });
  return { lines, logger: { error: at('error'), info: at('info'), warn: at('warn') } as never };
}

describe('waitWhileOtherAgentRuns', () => {
  it('returns at once when no other agent is seen, saying nothing', async () => {
    const { lines, logger } = recordingLogger();
    expect(await waitWhileOtherAgentRuns({ look: async () => undefined, logger, sleep: async () => undefined })).toBe(0);
    expect(lines).toEqual([]);
  });

  it('waits while one runs, says why at once and every minute, and says when it is gone', async () => {
    const { lines, logger } = recordingLogger();
    let now = 0;
    let looks = 0;
    const waited = await waitWhileOtherAgentRuns({
      look: async () => (++looks <= 30 ? 'aws-node answers' : undefined),
      logger,
      intervalMs: 5_000,
      repeatLogMs: 60_000,
      clock: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    });
    expect(waited).toBe(150_000);
    const errors = lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(3); // at 0, 60 and 120 s
    expect(errors[0]!.msg).toContain('another IPAM agent runs on this node: aws-node answers');
    expect(lines.at(-1)).toEqual({ level: 'info', msg: 'the other IPAM agent is gone: starting' });
  });

  it('goes on when it cannot look (a broken probe must not keep the node without a CNI)', async () => {
    const { lines, logger } = recordingLogger();
    await waitWhileOtherAgentRuns({ look: async () => Promise.reject(new Error('EPERM')), logger, sleep: async () => undefined });
    expect(lines.map((l) => l.level)).toEqual(['warn']);
  });
});

describe('aws-node probe', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
    server = undefined;
  });

  it('sees something listening, names the address and the way out; sees nothing on a closed port; off looks at nothing', async () => {
    server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    expect(await acceptsConnections('127.0.0.1', port)).toBe(true);
    const seen = await awsNodeOnNode({ host: '127.0.0.1', port });
    expect(seen).toContain(`127.0.0.1:${port}`);
    expect(seen).toContain('NATIVEIP_AWS_NODE_ADDRESS=off');
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    expect(await awsNodeOnNode({ host: '127.0.0.1', port })).toBeUndefined();
    expect(await awsNodeOnNode(undefined)).toBeUndefined();
  });
});
