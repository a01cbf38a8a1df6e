// A fixed-capacity ring buffer addressed by a global sequence number, so the log view
// keeps bounded memory whatever a container prints.

/** Bounded FIFO: pushing past capacity evicts the oldest items. */
export class Ring<T> {
  private buf: (T | undefined)[];
  private head = 0; // physical index of the oldest item
  private count = 0;
  /** Sequence number of the oldest item still held. */
  firstSeq = 0;

  constructor(readonly capacity: number) {
    if (!(capacity > 0)) throw new Error("capacity must be positive");
    this.buf = new Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Sequence number the next pushed item will get. */
  get endSeq(): number {
    return this.firstSeq + this.count;
  }

  /** Appends an item; returns how many items were evicted (0 or 1). */
  push(item: T): number {
    const cap = this.capacity;
    if (this.count < cap) {
      this.buf[(this.head + this.count) % cap] = item;
      this.count++;
      return 0;
    }
    this.buf[this.head] = item;
    this.head = (this.head + 1) % cap;
    this.firstSeq++;
    return 1;
  }

  /** Item at logical index i (0 = oldest). */
  at(i: number): T | undefined {
    if (i < 0 || i >= this.count) return undefined;
    return this.buf[(this.head + i) % this.capacity];
  }

  /** Item with sequence number `seq`, if still held. */
  bySeq(seq: number): T | undefined {
    return this.at(seq - this.firstSeq);
  }

  clear(): void {
    this.buf = new Array(this.capacity);
    this.firstSeq += this.count;
    this.head = 0;
    this.count = 0;
  }

  /** Iterates oldest to newest. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.count; i++) yield this.at(i) as T;
  }
}
