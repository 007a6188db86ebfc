/**
 * An in-process keyed async queue: jobs with the same key run one after another in arrival order, jobs
 * with different keys run side by side. Used to serialise git operations per repository (git's own
 * `index.lock` and ref locks collide otherwise).
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<void>>();

  run<T>(key: string, job: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const result = prev.then(job);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Keys with queued or running jobs. */
  get busyKeys(): number {
    return this.#tails.size;
  }
}
