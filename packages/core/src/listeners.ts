/** Removes a listener that was added. */
export type Unsubscribe = () => void;

/** Where an error goes that cannot be thrown to its cause (a listener that threw). */
export type ErrorSink = (error: unknown) => void;

/**
 * A minimal typed listener list. core does no I/O and imports nothing from `node:`,
 * so it cannot use EventEmitter; this is all the event plumbing it needs.
 *
 * A throwing listener does not stop the others (a consumer's bug must not stop
 * capture): its error is counted in `failures` and handed to `onListenerError`, which
 * whoever composes passes in (a logger, a test's assertion). Core itself prints nothing.
 */
export class Listeners<T> {
  private list: Array<(value: T) => void> = [];
  /** Errors that listeners threw so far. */
  failures = 0;

  constructor(private readonly onListenerError?: ErrorSink) {}

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
        this.failures++;
        this.onListenerError?.(error);
      }
    }
  }

  get size(): number {
    return this.list.length;
  }
}
