import { type FileHandle, open } from 'node:fs/promises';
import { McapWriter } from '@mcap/core';
import { type FrameGroup, formatInstantNs } from '@syncap/core';
import { encodeJpeg } from './jpeg-encode.js';

/** foxglove.RawImage as JSON Schema (Foxglove reads JSON messages with base64 `data`). */
const RAW_IMAGE_SCHEMA = {
  title: 'foxglove.RawImage',
  type: 'object',
  properties: {
    timestamp: { type: 'object', properties: { sec: { type: 'integer' }, nsec: { type: 'integer' } } },
    frame_id: { type: 'string' },
    width: { type: 'integer' },
    height: { type: 'integer' },
    encoding: { type: 'string' },
    step: { type: 'integer' },
    data: { type: 'string', contentEncoding: 'base64' },
  },
};
/** foxglove.CompressedImage as JSON Schema. */
const COMPRESSED_IMAGE_SCHEMA = {
  title: 'foxglove.CompressedImage',
  type: 'object',
  properties: {
    timestamp: { type: 'object', properties: { sec: { type: 'integer' }, nsec: { type: 'integer' } } },
    frame_id: { type: 'string' },
    format: { type: 'string' },
    data: { type: 'string', contentEncoding: 'base64' },
  },
};
const GROUP_SCHEMA = {
  title: 'syncap.FrameGroup',
  type: 'object',
  properties: {
    group: { type: 'integer' },
    t: { type: 'string', description: 'group time (earliest frame), ns since the epoch of the rig timebase' },
    spanNs: { type: 'number' },
    complete: { type: 'boolean' },
    missing: { type: 'array', items: { type: 'string' } },
    frames: { type: 'object', additionalProperties: { type: 'object', properties: { seq: { type: 'integer' }, t: { type: 'string' } } } },
  },
};
const CLOCK_SCHEMA = {
  title: 'syncap.ClockSample',
  type: 'object',
  properties: { monotonicNs: { type: 'string' }, offsetNs: { type: 'string' }, uncertaintyNs: { type: 'number' } },
};

/** FourCC → foxglove.RawImage encoding and bytes per pixel. */
const ENCODINGS: Record<string, { encoding: string; bytesPerPixel: number }> = {
  YUYV: { encoding: 'yuyv', bytesPerPixel: 2 },
  UYVY: { encoding: 'uyvy', bytesPerPixel: 2 },
  RGB3: { encoding: 'rgb8', bytesPerPixel: 3 },
  BGR3: { encoding: 'bgr8', bytesPerPixel: 3 },
  GREY: { encoding: 'mono8', bytesPerPixel: 1 },
  SIM: { encoding: 'mono8', bytesPerPixel: 1 },
};

export interface RecorderCamera {
  readonly id: string;
  readonly width: number;
  readonly height: number;
  readonly pixelFormat: string;
}

export interface RecorderStats {
  readonly frames: number;
  readonly groups: number;
  /** Frames not written because the disk did not keep up, by camera. */
  readonly droppedByCamera: Readonly<Record<string, number>>;
  readonly bytes: number;
}

/** An IWritable over a file: appends, tracks the position. */
class FileWritable {
  private pos = 0n;
  constructor(private readonly handle: FileHandle) {}
  async write(buffer: Uint8Array): Promise<void> {
    await this.handle.write(buffer);
    this.pos += BigInt(buffer.byteLength);
  }
  position(): bigint {
    return this.pos;
  }
}

/**
 * Records frame groups to MCAP: a channel per camera (foxglove.RawImage; log time =
 * the group's time, publish time = the camera's own timestamp), a frame-group
 * channel, a clock channel, and the rig config as metadata. Every write goes through
 * one serialized queue bounded in bytes: when the disk falls behind, frames are
 * dropped (counted per camera) and capture never waits. Chunks are written as they
 * fill, so a process killed mid-recording leaves a file readable up to its last chunk.
 */
export class McapRecorder {
  private queue: Promise<void> = Promise.resolve();
  private queuedBytes = 0;
  private readonly cameraChannels = new Map<string, { id: number; camera: RecorderCamera }>();
  private groupChannel = 0;
  private clockChannel = 0;
  private seq = 0;
  private failed: Error | undefined;
  private readonly dropped: Record<string, number> = {};
  private frames = 0;
  private groups = 0;
  private bytes = 0;

  private constructor(
    private readonly writer: McapWriter,
    private readonly handle: FileHandle,
    private readonly maxQueueBytes: number,
    private readonly encode: 'jpeg' | undefined,
  ) {}

  static async create(
    path: string,
    options: {
      cameras: readonly RecorderCamera[];
      metadata?: Record<string, string>;
      chunkSize?: number;
      maxQueueBytes?: number;
      /** Record foxglove.CompressedImage (JPEG) instead of RawImage. */
      encode?: 'jpeg';
    },
  ): Promise<McapRecorder> {
    const handle = await open(path, 'w');
    const writer = new McapWriter({ writable: new FileWritable(handle), useChunks: true, chunkSize: options.chunkSize ?? 1024 * 1024 });
    const r = new McapRecorder(writer, handle, options.maxQueueBytes ?? 256 * 1024 * 1024, options.encode);
    await writer.start({ profile: '', library: 'syncap' });
    const json = (schema: object) => new TextEncoder().encode(JSON.stringify(schema));
    const imageSchema = options.encode
      ? await writer.registerSchema({ name: 'foxglove.CompressedImage', encoding: 'jsonschema', data: json(COMPRESSED_IMAGE_SCHEMA) })
      : await writer.registerSchema({ name: 'foxglove.RawImage', encoding: 'jsonschema', data: json(RAW_IMAGE_SCHEMA) });
    for (const camera of options.cameras) {
      const id = await writer.registerChannel({
        topic: `/camera/${camera.id}`,
        schemaId: imageSchema,
        messageEncoding: 'json',
        metadata: new Map([['pixelFormat', camera.pixelFormat]]),
      });
      r.cameraChannels.set(camera.id, { id, camera });
      r.dropped[camera.id] = 0;
    }
    const groupSchema = await writer.registerSchema({ name: 'syncap.FrameGroup', encoding: 'jsonschema', data: json(GROUP_SCHEMA) });
    r.groupChannel = await writer.registerChannel({ topic: '/syncap/groups', schemaId: groupSchema, messageEncoding: 'json', metadata: new Map() });
    const clockSchema = await writer.registerSchema({ name: 'syncap.ClockSample', encoding: 'jsonschema', data: json(CLOCK_SCHEMA) });
    r.clockChannel = await writer.registerChannel({ topic: '/syncap/clock', schemaId: clockSchema, messageEncoding: 'json', metadata: new Map() });
    if (options.metadata) await writer.addMetadata({ name: 'syncap.rig', metadata: new Map(Object.entries(options.metadata)) });
    return r;
  }

  /** Queues a group: its frames (unless the queue is full) and its index record. Never blocks. */
  recordGroup(group: FrameGroup): void {
    const logTime = group.timeNs;
    const messages: Array<{ channelId: number; logTime: bigint; publishTime: bigint; data: Uint8Array }> = [];
    for (const [cam, frame] of group.frames) {
      const ch = this.cameraChannels.get(cam);
      const bytes = frame.data?.bytes;
      if (!ch || !bytes) continue;
      if (this.queuedBytes + bytes.byteLength * 1.4 > this.maxQueueBytes) {
        this.dropped[cam] = (this.dropped[cam] ?? 0) + 1;
        continue;
      }
      const enc = ENCODINGS[ch.camera.pixelFormat] ?? { encoding: ch.camera.pixelFormat.toLowerCase(), bytesPerPixel: 1 };
      const t = frame.deviceTimeNs;
      const timestamp = { sec: Number(t / 1_000_000_000n), nsec: Number(t % 1_000_000_000n) };
      const image = this.encode
        ? {
            timestamp,
            frame_id: cam,
            format: 'jpeg',
            data: Buffer.from(encodeJpeg(bytes, ch.camera.width, ch.camera.height, ch.camera.pixelFormat)).toString('base64'),
          }
        : {
            timestamp,
            frame_id: cam,
            width: ch.camera.width,
            height: ch.camera.height,
            encoding: enc.encoding,
            step: ch.camera.width * enc.bytesPerPixel,
            data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
          };
      messages.push({ channelId: ch.id, logTime, publishTime: t, data: new TextEncoder().encode(JSON.stringify(image)) });
    }
    const frames = Object.fromEntries([...group.frames].map(([cam, f]) => [cam, { seq: f.seq, t: formatInstantNs(f.rigTimeNs) }]));
    const record = { group: group.id, t: formatInstantNs(group.timeNs), spanNs: group.spanNs, complete: group.complete, missing: group.missing, frames };
    messages.push({ channelId: this.groupChannel, logTime, publishTime: logTime, data: new TextEncoder().encode(JSON.stringify(record)) });
    this.enqueue(messages, messages.length - 1);
  }

  recordClock(sample: { monotonicNs: bigint; offsetNs: bigint; uncertaintyNs: number }, atRigNs: bigint): void {
    const data = new TextEncoder().encode(
      JSON.stringify({ monotonicNs: sample.monotonicNs.toString(), offsetNs: sample.offsetNs.toString(), uncertaintyNs: sample.uncertaintyNs }),
    );
    this.enqueue([{ channelId: this.clockChannel, logTime: atRigNs, publishTime: atRigNs, data }], 0);
  }

  stats(): RecorderStats {
    return { frames: this.frames, groups: this.groups, droppedByCamera: { ...this.dropped }, bytes: this.bytes };
  }

  /** Writes what is queued, the summary and the footer, and closes the file. */
  async close(): Promise<RecorderStats> {
    await this.queue;
    await this.writer.end();
    await this.handle.close();
    if (this.failed) throw this.failed;
    return this.stats();
  }

  private enqueue(messages: Array<{ channelId: number; logTime: bigint; publishTime: bigint; data: Uint8Array }>, frameCount: number): void {
    const size = messages.reduce((n, m) => n + m.data.byteLength, 0);
    this.queuedBytes += size;
    this.queue = this.queue.then(async () => {
      if (this.failed) return;
      try {
        for (const m of messages) await this.writer.addMessage({ ...m, sequence: this.seq++ });
        this.frames += frameCount;
        if (messages.some((m) => m.channelId === this.groupChannel)) this.groups++;
        this.bytes += size;
      } catch (error) {
        this.failed = error as Error;
      } finally {
        this.queuedBytes -= size;
      }
    });
  }
}
