/**
 * Puts a connection's replies back in request order: requests may finish in any order, but a
 * reply is released only once every reply before it has been. Pure; the caller writes what
 * `fill` returns.
 */
export class ReplySequencer<T> {
  #next = 0;
  #head = 0;
  readonly #done = new Map<number, T>();

  /** Slots taken but not yet released (in flight, or done and waiting for an earlier one). */
  get pending(): number {
    return this.#next - this.#head;
  }

  /** Takes the next slot, in request order. */
  reserve(): number {
    const slot = this.#next;
    this.#next += 1;
    return slot;
  }

  /**
   * Fills `slot` and returns the replies now releasable, in order (empty while an earlier slot is
   * open). Throws a RangeError for a slot not reserved or already filled.
   */
  fill(slot: number, reply: T): T[] {
    if (slot < this.#head || slot >= this.#next || this.#done.has(slot)) throw new RangeError(`reply slot ${slot} is not open`);
    this.#done.set(slot, reply);
    const ready: T[] = [];
    while (this.#done.has(this.#head)) {
      ready.push(this.#done.get(this.#head) as T);
      this.#done.delete(this.#head);
      this.#head += 1;
    }
    return ready;
  }
}
