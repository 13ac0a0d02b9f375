import type { CameraDevice, Frame, Unsubscribe } from '@syncap/core';
import { formatTraceFrame, formatTraceHeader } from './trace-format.js';

/**
 * Records the frames of a set of cameras (sim or real) as trace v1 lines, in
 * arrival order. Lines go to `write` (a file stream, an array): the recorder
 * keeps nothing itself, so memory stays flat however long the run.
 */
export class TraceRecorder {
  private readonly subscriptions: Unsubscribe[] = [];
  /** Frames written. */
  frames = 0;

  constructor(
    cameras: ReadonlyArray<{ id: string; fps?: number }>,
    private readonly write: (line: string) => void,
  ) {
    write(formatTraceHeader(cameras));
  }

  /** Records every frame the device delivers from now on. */
  attach(device: CameraDevice): void {
    this.subscriptions.push(device.onFrame((frame) => this.record(frame)));
  }

  record(frame: Frame): void {
    this.write(formatTraceFrame(frame));
    this.frames++;
  }

  detach(): void {
    for (const u of this.subscriptions.splice(0)) u();
  }
}
