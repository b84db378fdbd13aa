/**
 * Runs async tasks one at a time, in call order; a task's failure is its caller's and does not
 * stop the tasks after it. Used where overlap is wrong: the pool's cloud calls (one plan at a
 * time), and the datapath's netlink dumps (the `netlink` package groups multipart replies per
 * socket, so a dump must not overlap any other request on its socket: an interleaved ACK cuts the
 * dump short, and the kernel allows one dump per socket at a time anyway).
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task);
    // The tail never rejects, so the next task always runs.
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
