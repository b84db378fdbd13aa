/** Timers the pool manager uses; none keeps the process alive. */


/** Runs a task once, `delayMs` after the first of a burst of requests for it. */
export class CoalescedDelay {
  readonly #delayMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #task: () => void;
  #scheduled = false;

  constructor(delayMs: number, sleep: (ms: number) => Promise<void>, task: () => void) {
    this.#delayMs = delayMs;
    this.#sleep = sleep;
    this.#task = task;
  }

  /** Schedules the task unless it is already scheduled. */
  request(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    void this.#sleep(this.#delayMs).then(() => {
      this.#scheduled = false;
      this.#task();
    });
  }
}
