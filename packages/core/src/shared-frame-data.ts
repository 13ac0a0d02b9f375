import type { FrameData } from './frame.js';

/**
 * One frame's data held by several owners at once (a policy whose groups share frames,
 * such as `latest`). Each owner gets its own handle; a handle's `release()` gives up that
 * owner's share once (a second call does nothing), and the data itself — a zero-copy
 * driver buffer, say — is released when the last share is given up.
 */
export class SharedFrameData {
  private shares = 1;

  /** Starts with one share: the creator's, given up with `drop()`. */
  constructor(private readonly data: FrameData) {}

  /** A handle for one more owner. */
  handle(): FrameData {
    this.shares++;
    let released = false;
    const data = this.data;
    return {
      get bytes() {
        return data.bytes;
      },
      release: () => {
        if (released) return;
        released = true;
        this.drop();
      },
    };
  }

  /** Gives up the creator's share. */
  drop(): void {
    if (--this.shares === 0) this.data.release();
  }
}
