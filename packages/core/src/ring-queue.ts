/**
 * A growable FIFO with O(1) push/shift and indexed access. Callers enforce their
 * own bound (and count what they drop); this only stores.
 */
export class RingQueue<T> {
  private buf: Array<T | undefined>;
  private head = 0;
  private len = 0;

  constructor(initialCapacity = 16) {
    this.buf = new Array(Math.max(2, initialCapacity));
  }

  get length(): number {
    return this.len;
  }

  push(value: T): void {
    if (this.len === this.buf.length) this.grow();
    this.buf[(this.head + this.len) % this.buf.length] = value;
    this.len++;
  }

  /** Puts a value back at the front. */
  unshift(value: T): void {
    if (this.len === this.buf.length) this.grow();
    this.head = (this.head - 1 + this.buf.length) % this.buf.length;
    this.buf[this.head] = value;
    this.len++;
  }

  shift(): T | undefined {
    if (this.len === 0) return undefined;
    const value = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) % this.buf.length;
    this.len--;
    return value;
  }

  pop(): T | undefined {
    if (this.len === 0) return undefined;
    const i = (this.head + this.len - 1) % this.buf.length;
    const value = this.buf[i];
    this.buf[i] = undefined;
    this.len--;
    return value;
  }

  peek(): T | undefined {
    return this.len === 0 ? undefined : this.buf[this.head];
  }

  peekLast(): T | undefined {
    return this.len === 0 ? undefined : this.buf[(this.head + this.len - 1) % this.buf.length];
  }

  at(i: number): T | undefined {
    if (i < 0 || i >= this.len) return undefined;
    return this.buf[(this.head + i) % this.buf.length];
  }

  clear(): void {
    this.buf.fill(undefined);
    this.head = 0;
    this.len = 0;
  }

  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.len; i++) out.push(this.buf[(this.head + i) % this.buf.length] as T);
    return out;
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.buf.length * 2);
    for (let i = 0; i < this.len; i++) next[i] = this.buf[(this.head + i) % this.buf.length];
    this.buf = next;
    this.head = 0;
  }
}
