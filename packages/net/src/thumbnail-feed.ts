import { errorMessage, type Frame, FrameFlags } from '@syncap/core';
import type { ThumbnailRoom } from './sync-client.js';
import type { ThumbnailMessage } from './thumbnail-message.js';

/** A camera's image as a thumbnailer takes it. */
export interface ThumbnailSource {
  readonly bytes: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** The V4L2 FourCC (YUYV, MJPG, …), or SIM for a simulated camera without pixels. */
  readonly pixelFormat: string;
}

/** Makes small JPEGs off the JS thread (the composer passes @syncap/jpeg's; tests pass fakes). */
export interface Thumbnailer {
  /** Whether it can make a thumbnail of this pixel format (frames of others are never copied). */
  supports(pixelFormat: string): boolean;
  /**
   * Whether this frame can be made into one (H264: keyframes only, the frames that decode on
   * their own); a due camera waits for the next frame it accepts. Cheap: it runs per due frame.
   * Default: every frame of a supported format.
   */
  accepts?(bytes: Uint8Array, pixelFormat: string): boolean;
  /** The JPEG; `image.bytes` stay untouched until the promise settles. */
  make(image: ThumbnailSource): Promise<Uint8Array>;
}

export interface ThumbnailFeedOptions {
  readonly thumbnailer: Thumbnailer;
  /** One thumbnail per camera at most this often (of frame time), ms. Default 1000. */
  readonly intervalMs?: number;
}

/** Where thumbnails go (a SyncClient). */
export interface ThumbnailSink {
  thumbnailRoom(bytes?: number): ThumbnailRoom;
  sendThumbnail(thumbnail: ThumbnailMessage): ThumbnailRoom;
}

/**
 * What became of the thumbnail slots (one per camera per interval): sent, or skipped because
 * the camera's previous one was still being made (`busy`), the link was backed up, away, or
 * its server takes none, the JPEG was larger than the server takes, or making it failed.
 */
export interface ThumbnailStats {
  sent: number;
  bytesSent: number;
  skippedBusy: number;
  skippedBackedUp: number;
  skippedOffline: number;
  skippedUnsupported: number;
  skippedTooLarge: number;
  failed: number;
  lastError?: string;
}

interface CameraSlot {
  lastNs: bigint | undefined;
  busy: boolean;
  /** The copy the thumbnailer reads (reused: one thumbnail in flight per camera). */
  scratch: Uint8Array | undefined;
}

/**
 * Live thumbnails for the server's dashboard, bounded so that they can never slow capture or
 * the sync protocol: a camera's frame is taken at most once per interval, and only when the
 * link has room; at most one thumbnail per camera is being made at a time (a due frame meanwhile
 * is skipped, counted); the frame's bytes are copied once into that camera's buffer, so the
 * frame goes back to its driver at once; a finished thumbnail goes out only if the link still
 * has room, else it is dropped (counted) — nothing queues.
 */
export class ThumbnailFeed {
  private readonly slots = new Map<string, CameraSlot>();
  private readonly intervalNs: bigint;
  private readonly counts: ThumbnailStats = {
    sent: 0,
    bytesSent: 0,
    skippedBusy: 0,
    skippedBackedUp: 0,
    skippedOffline: 0,
    skippedUnsupported: 0,
    skippedTooLarge: 0,
    failed: 0,
  };

  constructor(
    private readonly options: ThumbnailFeedOptions,
    private readonly sink: ThumbnailSink,
  ) {
    const intervalMs = options.intervalMs ?? 1000;
    if (!(intervalMs > 0)) throw new RangeError(`thumbnail interval must be > 0 ms, got ${intervalMs}`);
    this.intervalNs = BigInt(Math.round(intervalMs * 1e6));
  }

  /** Offers a camera's frame (its rig time decides whether a thumbnail is due); cheap when none is. */
  offer(frame: Frame, format: { readonly width: number; readonly height: number; readonly pixelFormat: string } | undefined): void {
    const bytes = frame.data?.bytes;
    if (!bytes || !format || (frame.flags & FrameFlags.ERROR) !== 0 || !this.options.thumbnailer.supports(format.pixelFormat)) return;
    let slot = this.slots.get(frame.cameraId);
    if (!slot) {
      slot = { lastNs: undefined, busy: false, scratch: undefined };
      this.slots.set(frame.cameraId, slot);
    }
    const t = frame.rigTimeNs;
    // A frame earlier than the last slot (the rig clock stepped back) starts the cadence afresh.
    if (slot.lastNs !== undefined && t >= slot.lastNs && t - slot.lastNs < this.intervalNs) return;
    // A frame the thumbnailer cannot take alone leaves the slot due, for the next one it can.
    if (this.options.thumbnailer.accepts && !this.options.thumbnailer.accepts(bytes, format.pixelFormat)) return;
    slot.lastNs = t;
    if (slot.busy) {
      this.counts.skippedBusy++;
      return;
    }
    if (!this.hasRoom(this.sink.thumbnailRoom())) return;
    if (!slot.scratch || slot.scratch.byteLength < bytes.byteLength) slot.scratch = new Uint8Array(bytes.byteLength);
    const copy = slot.scratch.subarray(0, bytes.byteLength);
    copy.set(bytes);
    slot.busy = true;
    const { cameraId, seq } = frame;
    const done = slot;
    this.options.thumbnailer.make({ bytes: copy, width: format.width, height: format.height, pixelFormat: format.pixelFormat }).then(
      (jpeg) => {
        done.busy = false;
        if (this.hasRoom(this.sink.sendThumbnail({ cameraId, seq, rigTimeNs: t, jpeg }))) {
          this.counts.sent++;
          this.counts.bytesSent += jpeg.byteLength;
        }
      },
      (error: unknown) => {
        done.busy = false;
        this.counts.failed++;
        this.counts.lastError = errorMessage(error);
      },
    );
  }

  stats(): ThumbnailStats {
    return { ...this.counts };
  }

  /** Whether the link had room; if not, the slot is counted as skipped for its reason. */
  private hasRoom(room: ThumbnailRoom): boolean {
    if (room === 'backed-up') this.counts.skippedBackedUp++;
    else if (room === 'offline') this.counts.skippedOffline++;
    else if (room === 'unsupported') this.counts.skippedUnsupported++;
    else if (room === 'too-large') this.counts.skippedTooLarge++;
    return room === 'ready';
  }
}
