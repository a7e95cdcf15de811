/** A FIFO of jobs with O(1) shift (and a rare unshift, for work taken back), for the lanes' wait queues. */
export class JobQueue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  /** Entries, including ones cancelled but not yet shifted. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** Appends a job. */
  push(item: T): void {
    this.items.push(item);
  }

  /** The oldest job, without removing it. */
  peek(): T | undefined {
    return this.items[this.head];
  }

  /** Removes and returns the oldest job. */
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    // Compact once the consumed prefix dominates, keeping shift amortised O(1).
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Puts `items` (in their order) at the front, before every queued job. */
  unshift(items: readonly T[]): void {
    this.items = [...items, ...this.items.slice(this.head)];
    this.head = 0;
  }

  /** The queued jobs, oldest first (including cancelled ones not yet shifted). */
  *values(): IterableIterator<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i] as T;
  }

  /** Removes and returns every job. */
  drain(): T[] {
    const rest = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    return rest;
  }
}
