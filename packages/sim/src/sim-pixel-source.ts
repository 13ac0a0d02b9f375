import { ConfigError } from '@syncap/core';
import type { SimPixelsOptions } from './sim-camera.js';
import { patternBytesPerPixel, renderTestPattern } from './test-pattern.js';

/**
 * The pixels of a simulated camera's frames: the test pattern rendered into a pool of
 * reusable buffers (as a driver's are), or taken from a ring of images rendered once.
 * MJPG frames are the pattern JPEG-encoded by the encoder the composer passed.
 */
export class SimPixelSource {
  readonly width: number;
  readonly height: number;
  readonly pixelFormat: 'YUYV' | 'GREY' | 'MJPG';
  private readonly rawFormat: 'YUYV' | 'GREY';
  private readonly rawBytes: number;
  private readonly free: Uint8Array[] = [];
  private ring: Uint8Array[] | undefined;
  private scratch: Uint8Array | undefined;

  constructor(
    private readonly cameraId: string,
    private readonly o: SimPixelsOptions,
    private readonly buffers: number,
  ) {
    if (!(Number.isInteger(o.width) && Number.isInteger(o.height) && o.width >= 2 && o.height >= 2 && o.width % 2 === 0)) {
      throw new ConfigError(`camera ${cameraId}: pixels must be at least 2x2 with an even width, got ${o.width}x${o.height}`);
    }
    if (o.pixelFormat === 'MJPG' && !o.encodeJpeg) throw new ConfigError(`camera ${cameraId}: MJPG pixels need a JPEG encoder (encodeJpeg)`);
    this.width = o.width;
    this.height = o.height;
    this.pixelFormat = o.pixelFormat;
    this.rawFormat = o.pixelFormat === 'GREY' ? 'GREY' : 'YUYV';
    this.rawBytes = o.width * o.height * patternBytesPerPixel(this.rawFormat);
    // The ring is rendered before the camera streams, not on its first frame (which would stall the run).
    if (o.mode === 'ring') this.ringImages();
  }

  /** The image of frame `seq` exposed at `exposureNs` (camera clock), and how to give it back. */
  take(seq: number, exposureNs: bigint): { bytes: Uint8Array; release(): void } {
    if (this.o.mode === 'ring') {
      const ring = this.ringImages();
      return { bytes: ring[seq % ring.length]!, release: () => {} };
    }
    const stamp = { cameraId: this.cameraId, seq, exposureNs };
    if (this.pixelFormat === 'MJPG') {
      this.scratch ??= new Uint8Array(this.rawBytes);
      renderTestPattern(this.scratch, this.width, this.height, 'YUYV', stamp);
      return { bytes: this.o.encodeJpeg!(this.scratch, this.width, this.height), release: () => {} };
    }
    // Raw frames reuse a pool no larger than the driver's buffer count, as real drivers do.
    const buffer = this.free.pop() ?? new Uint8Array(this.rawBytes);
    renderTestPattern(buffer, this.width, this.height, this.rawFormat, stamp);
    return {
      bytes: buffer,
      release: () => {
        if (this.free.length < this.buffers) this.free.push(buffer);
      },
    };
  }

  private ringImages(): Uint8Array[] {
    if (this.ring) return this.ring;
    const count = this.o.ringFrames ?? 8;
    const raw = new Uint8Array(this.rawBytes);
    this.ring = Array.from({ length: count }, (_, k) => {
      renderTestPattern(raw, this.width, this.height, this.rawFormat, { cameraId: this.cameraId, seq: k, exposureNs: 0n });
      return this.pixelFormat === 'MJPG' ? this.o.encodeJpeg!(raw, this.width, this.height) : raw.slice();
    });
    return this.ring;
  }
}
