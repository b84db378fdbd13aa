/**
 * Runs async tasks one at a time, in call order. The `netlink` package groups multipart replies
 * per socket, so a dump must not overlap any other request on its socket (an interleaved ACK
 * cuts the dump short), and the kernel allows one dump per socket at a time anyway.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
