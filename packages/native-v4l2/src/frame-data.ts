import { type FrameData, StateError } from '@syncap/core';
import type { NativeCameraHandle } from './native-binding.js';

/**
 * A frame's bytes over the driver's buffer (zero-copy) or a copy. After release the driver
 * owns the buffer again: the view is detached (it reads as empty) and asking for the bytes
 * throws. A class, not a literal with closures: one allocation per frame.
 */
export class V4l2FrameData implements FrameData {
  private released = false;

  constructor(
    private readonly native: NativeCameraHandle,
    private readonly cameraId: string,
    private readonly sequence: number,
    private readonly index: number,
    private readonly generation: number,
    private readonly view: Uint8Array,
    private readonly copied: boolean,
  ) {}

  get bytes(): Uint8Array {
    if (this.released) throw new StateError(`${this.cameraId}: frame ${this.sequence} was released; its buffer belongs to the driver again`);
    return this.view;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    if (!this.copied) this.native.release(this.index, this.generation);
  }
}
