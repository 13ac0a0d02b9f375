/** Removes a listener that was added. */
export type Unsubscribe = () => void;

/**
 * A minimal typed listener list. core does no I/O and imports nothing from `node:`,
 * so it cannot use EventEmitter; this is all the event plumbing it needs.
 * A throwing listener does not stop the others: its error goes to `onListenerError`.
 */
export class Listeners<T> {
  private list: Array<(value: T) => void> = [];
  constructor(private readonly onListenerError: (error: unknown) => void = reportListenerError) {}

  add(listener: (value: T) => void): Unsubscribe {
    this.list = [...this.list, listener];
    return () => {
      this.list = this.list.filter((l) => l !== listener);
    };
  }

  emit(value: T): void {
    for (const listener of this.list) {
      try {
        listener(value);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  get size(): number {
    return this.list.length;
  }
}

function reportListenerError(error: unknown): void {
  // Surface it without taking down the emitter: a consumer bug must not stop capture.
  (globalThis as unknown as { console: { error(...args: unknown[]): void } }).console.error('syncap: a listener threw:', error);
}
