/**
 * The source of the link-deletion worker thread (CommonJS, run with `eval`): a string, so the
 * worker starts the same way from the TypeScript sources (tests), from the daemon's bundle and
 * from a benchmark bundle, with no file to locate beside them. It stays small; every decision is
 * made on the main thread (link-reaper.ts), which also decodes what the worker answers.
 *
 * workerData: `{ netlinkPath, netnsIno }`. The thread is created inside the host namespace (see
 * LinkReaper.start) and first checks it is there (`netnsIno`, the inode of that namespace).
 * Then it opens its own rtnetlink socket and answers:
 *   { type: 'ready' } | { type: 'failed', message }   once, at start
 *   { type: 'done', id, outcomes: [{ ok: true } | { ok: false, message, code? }] }   per batch
 * to `{ type: 'delete', id, names, group }` (put each link in `group`, then delete the group in
 * one request: the kernel unregisters them together) and `{ type: 'close' }`.
 */
export const LINK_REAPER_WORKER_SOURCE = String.raw`'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { statSync } = require('node:fs');

function failure(error) {
  const message = error instanceof Error ? error.message : String(error);
  const code = error && typeof error.code === 'string' ? error.code : undefined;
  return code === undefined ? { ok: false, message } : { ok: false, message, code };
}

function start() {
  const ino = statSync('/proc/thread-self/ns/net').ino;
  if (ino !== workerData.netnsIno) {
    parentPort.postMessage({ type: 'failed', message: 'worker thread is in network namespace inode ' + ino + ', not ' + workerData.netnsIno });
    return;
  }
  let sock;
  try {
    sock = require(workerData.netlinkPath).createRtNetlink();
  } catch (error) {
    parentPort.postMessage({ type: 'failed', message: 'open netlink socket: ' + (error instanceof Error ? error.message : String(error)) });
    return;
  }
  parentPort.on('message', async (msg) => {
    if (msg.type === 'close') {
      sock.socket.close();
      parentPort.close();
      return;
    }
    const { id, names, group } = msg;
    const marked = await Promise.all(names.map((ifname) => sock.setLink({}, { ifname, group }).then(() => undefined, failure)));
    let groupOutcome = { ok: true };
    if (marked.some((o) => o === undefined)) {
      try {
        await sock.delLink({}, { group });
      } catch (error) {
        // ENODEV: every marked link vanished in between, which is what was asked.
        const f = failure(error);
        if (!/ENODEV/.test(f.message)) groupOutcome = f;
      }
    }
    parentPort.postMessage({ type: 'done', id, outcomes: marked.map((o) => o ?? groupOutcome) });
  });
  parentPort.postMessage({ type: 'ready' });
}

start();
`;
