import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type ClockSample, ConfigError, type ErrorSink, type Frame, type FrameData, type FrameGroup, SyncapError } from '@syncap/core';
import { encodeJpeg } from '@syncap/jpeg';
import { type BagFileInfo, bagMetadataYaml } from './bag-metadata.js';
import { type ChunkMessage, fileError, McapFileWriter } from './mcap-file-writer.js';
import { clockSampleMessage, frameGroupMessage, type ImageForm, imageFormOf, imageMessageParts, imageTypeOf, type NotRecordedReason } from './ros2-messages.js';
import { type Ros2TypeName, ros2SchemaText } from './ros2-schemas.js';
import { CLOCK_TOPIC, cameraTopic, GROUPS_TOPIC } from './topics.js';

/** A camera as the recorder sees it (what `CameraDevice.info` says once it is open). */
export interface RecorderCamera {
  readonly id: string;
  readonly width: number;
  readonly height: number;
  /** FourCC as the device gives it: raw (YUYV, GREY, …) or compressed (MJPG, H264). */
  readonly pixelFormat: string;
  /** Driver buffers when frames are zero-copy views (held frames starve the driver beyond half of them). */
  readonly buffers?: number;
}

export interface Ros2RecorderOptions {
  /** The bag directory to create (like `ros2 bag record -o`); it must not exist, or be empty. */
  readonly dir: string;
  readonly cameras: readonly RecorderCamera[];
  /** Record raw cameras as JPEG (CompressedImage) with libjpeg-turbo, off the JS thread. MJPG is always recorded as it comes. */
  readonly encode?: 'jpeg';
  /** JPEG quality 1–100. Default 85. */
  readonly jpegQuality?: number;
  /** Start a new file when the current one reaches this many bytes. */
  readonly splitSizeBytes?: number;
  /** Start a new file when the current one spans this much rig time, ns. */
  readonly splitDurationNs?: number;
  /** Bytes waiting for the disk (and the encoder) at most; frames past it are dropped and counted. Default 512 MiB. */
  readonly maxQueueBytes?: number;
  /** Small messages are gathered into chunks of about this size… Default 1 MiB. */
  readonly chunkBytes?: number;
  /** …or this much rig time, whichever comes first, ns (what a SIGKILL can lose). Default 500 ms. */
  readonly chunkAgeNs?: number;
  /** Key-value metadata stored as the MCAP metadata record `syncap.rig` (the rig config, the policy, the cameras). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** The first write failure (a full disk), reported once; recording then stops, capture goes on. */
  readonly onWriteError?: ErrorSink;
}

/** Frames the recorder wrote and lost, by camera. */
export interface RecorderStats {
  readonly groups: number;
  readonly framesWritten: number;
  /** Large frames copied out of their driver buffer because the disk was behind (written in place otherwise). */
  readonly framesCopied: number;
  /** Frames not written, by camera, by reason (disk behind, encoder behind, a write error, no pixels, a format ROS has no encoding for). */
  readonly notRecorded: Readonly<Record<string, Readonly<Partial<Record<NotRecordedReason, number>>>>>;
  readonly bytesWritten: number;
  /** Bytes waiting for the disk or the encoder now. */
  readonly queuedBytes: number;
  readonly files: readonly string[];
  /** Frames whose driver buffer was taken back before the write (the camera closed first): written as zeros. */
  readonly framesTakenBack: number;
  readonly writeError?: string;
}

interface CameraChannel {
  readonly camera: RecorderCamera;
  readonly channelId: number;
  /** The form its frames are written in (JPEG when the recorder encodes them); undefined: none. */
  readonly form: ImageForm | undefined;
  readonly encodeJpeg: boolean;
  /** Frames of this camera held (not released) until their write or encode finishes. */
  held: number;
  readonly holdLimit: number;
}

/** Payloads at most this large are copied into the chunk and released at once; larger ones are written in place. */
const COPY_BELOW_BYTES = 64 * 1024;
const RECORD_INFO_NAME = 'syncap.recording';

/**
 * Records frame groups as a ROS 2 bag: MCAP (profile `ros2`, `ros2msg` schemas, `cdr`
 * messages) with a rosbag2 `metadata.yaml` beside it. Each camera is a topic in ROS naming
 * (`/<camera>/image_raw` as sensor_msgs/Image, `/<camera>/image_raw/compressed` as
 * sensor_msgs/CompressedImage for MJPG and JPEG, `/<camera>/image_raw/foxglove` as
 * foxglove_msgs/CompressedVideo for H264), plus `/syncap/frame_groups` and
 * `/syncap/clock_samples`. Stamps and log times are rig time (mid-exposure); publish time is
 * the device's own timestamp. H264 frames are recorded as the groups hold them: a frame the
 * policy left out of every group is missing from the stream, and a decoder shows the frames
 * after it damaged until the next keyframe (keep a camera's keyframe interval short).
 *
 * Pixels go from the frame's buffer to the file without a copy: the recorder takes each
 * frame's data and releases it once the chunk that holds it is on disk. What cannot be
 * written in time — the disk or the encoder is behind (bounded bytes, and at most half of a
 * zero-copy camera's driver buffers held) — is dropped at once, counted by camera and named in
 * the group's message; capture never waits. A write failure is reported once; the file is
 * left readable up to its last whole chunk.
 */
export class Ros2Recorder {
  private files: McapFileWriter[] = [];
  private readonly channels = new Map<string, CameraChannel>();
  private groupChannel = 0;
  private clockChannel = 0;
  private pending: ChunkMessage[] = [];
  private pendingHeld: Array<{ data: FrameData; channel: CameraChannel }> = [];
  private pendingBytes = 0;
  private pendingFirstNs: bigint | undefined;
  private pendingLarge = false;
  private chain: Promise<void> = Promise.resolve();
  /** Groups whose frames are being encoded: they join the file when their JPEGs are ready. */
  private readonly encoding = new Set<Promise<void>>();
  private queuedBytes = 0;
  private sequence = 0;
  private fileStartNs: bigint | undefined;
  private failure: SyncapError | undefined;
  private closed = false;
  private readonly counts = { groups: 0, framesWritten: 0, framesCopied: 0, bytesWritten: 0 };
  private readonly drainWaiters: Array<{ belowBytes: number; resolve(): void }> = [];
  private readonly notRecorded: Record<string, Partial<Record<NotRecordedReason, number>>> = {};
  private readonly topicCounts = new Map<string, { type: Ros2TypeName; count: number }>();
  private readonly fileInfos: BagFileInfo[] = [];
  private readonly name: string;
  private readonly maxQueueBytes: number;

  private constructor(private readonly o: Ros2RecorderOptions) {
    this.name = basename(o.dir);
    this.maxQueueBytes = o.maxQueueBytes ?? 512 * 1024 * 1024;
  }

  /** Creates the bag directory and its first file. Errors name the path and the reason (E_EXISTS, E_IO). */
  static async create(options: Ros2RecorderOptions): Promise<Ros2Recorder> {
    if (options.cameras.length === 0) throw new ConfigError('recording: no cameras');
    const ids = new Set<string>();
    for (const c of options.cameras) {
      const topic = cameraTopic(c.id, 'raw');
      if (ids.has(topic)) throw new ConfigError(`recording: cameras map to the same topic ${topic}; give them distinct ids`);
      ids.add(topic);
    }
    await checkRecordingDirectory(options.dir);
    const r = new Ros2Recorder(options);
    await r.openFile();
    return r;
  }

  /** The bag directory. */
  get dir(): string {
    return this.o.dir;
  }

  /**
   * Takes a group: its frames' data now belong to the recorder (released when written or
   * dropped), its record goes to the groups topic. Never blocks, never throws.
   */
  recordGroup(group: FrameGroup): void {
    this.counts.groups++;
    const notRecorded = new Map<string, NotRecordedReason>();
    const encodes: Array<Promise<void>> = [];
    for (const frame of group.frames.values()) {
      const reason = this.takeFrame(frame, encodes);
      if (reason) {
        notRecorded.set(frame.cameraId, reason);
        this.countNotRecorded(frame.cameraId, reason);
      }
    }
    const groupMessage = () =>
      this.push(
        { channelId: this.groupChannel, logTime: group.timeNs, publishTime: group.timeNs, parts: [frameGroupMessage(group, notRecorded)] },
        'syncap_msgs/msg/FrameGroup',
        GROUPS_TOPIC,
      );
    if (encodes.length === 0) {
      groupMessage();
      this.maybeFlush(group.timeNs);
      return;
    }
    // Encoded frames join the file when their JPEG is ready; the group's record follows them.
    const done = Promise.all(encodes).then(() => {
      groupMessage();
      this.maybeFlush(group.timeNs);
    });
    this.encoding.add(done);
    void done.finally(() => this.encoding.delete(done));
  }

  /** Records a clock sample (rig vs monotonic) read at rig time `atRigNs`. */
  recordClock(sample: ClockSample, atRigNs: bigint): void {
    if (this.failure || this.closed) return;
    this.push(
      { channelId: this.clockChannel, logTime: atRigNs, publishTime: atRigNs, parts: [clockSampleMessage(sample, atRigNs)] },
      'syncap_msgs/msg/ClockSample',
      CLOCK_TOPIC,
    );
    this.maybeFlush(atRigNs);
  }

  stats(): RecorderStats {
    return {
      groups: this.counts.groups,
      framesWritten: this.counts.framesWritten,
      framesCopied: this.counts.framesCopied,
      notRecorded: structuredClone(this.notRecorded),
      bytesWritten: this.counts.bytesWritten,
      queuedBytes: this.queuedBytes + this.pendingBytes,
      files: this.files.map((f) => f.path),
      framesTakenBack: this.files.reduce((n, f) => n + f.partsTakenBack, 0),
      ...(this.failure ? { writeError: this.failure.message } : {}),
    };
  }

  /** Resolves once fewer than `belowBytes` wait for the disk (backpressure for producers that can wait). */
  whenQueueBelow(belowBytes: number): Promise<void> {
    if (this.queuedBytes + this.pendingBytes < belowBytes) return Promise.resolve();
    this.flush();
    return new Promise((resolve) => this.drainWaiters.push({ belowBytes, resolve }));
  }

  /** Resolves once everything recorded so far is on disk (or lost to a write error). */
  async whenWritten(): Promise<void> {
    await Promise.all(this.encoding);
    this.flush();
    await this.chain;
  }

  /** Writes what is pending, the recording's summary, the files' indexes and metadata.yaml. */
  async close(): Promise<RecorderStats> {
    if (this.closed) return this.stats();
    await Promise.all(this.encoding);
    this.closed = true;
    this.flush();
    await this.chain;
    const file = this.files.at(-1)!;
    if (!this.failure) {
      const info = new Map<string, string>([
        ['groups', String(this.counts.groups)],
        ['framesWritten', String(this.counts.framesWritten)],
        ['notRecorded', JSON.stringify(this.notRecorded)],
      ]);
      await file.addMetadata(RECORD_INFO_NAME, info);
    }
    await this.closeFile(file);
    await this.writeBagMetadata();
    return this.stats();
  }

  /** Decides what happens to one frame: queued for the file (or the encoder), or not recorded and why. */
  private takeFrame(frame: Frame, encodes: Array<Promise<void>>): NotRecordedReason | undefined {
    const channel = this.channels.get(frame.cameraId);
    const data = frame.data;
    if (this.failure || this.closed) return drop(data, 'write-error');
    if (!channel || !data) return drop(data, 'no-pixels');
    const bytes = data.bytes;
    if (!channel.form) return drop(data, 'format');
    if (this.queuedBytes + this.pendingBytes + bytes.byteLength > this.maxQueueBytes) return drop(data, channel.encodeJpeg ? 'encoder' : 'disk');
    if (channel.encodeJpeg && channel.held >= channel.holdLimit) return drop(data, 'encoder');
    if (channel.encodeJpeg) {
      channel.held++;
      this.queuedBytes += bytes.byteLength;
      const c = channel.camera;
      encodes.push(
        encodeJpeg(bytes, { width: c.width, height: c.height, pixelFormat: c.pixelFormat, quality: this.o.jpegQuality ?? 85 }).then(
          (jpeg) => {
            this.release(data, channel, bytes.byteLength);
            this.pushImage(frame, channel, jpeg);
          },
          () => {
            this.release(data, channel, bytes.byteLength);
            this.countNotRecorded(frame.cameraId, 'encoder');
          },
        ),
      );
      return undefined;
    }
    if (bytes.byteLength < COPY_BELOW_BYTES || channel.held >= channel.holdLimit) {
      // Small frames are copied into the chunk; so are large ones while the disk is behind and the
      // camera already has half its driver buffers waiting (a copy costs less than a lost frame).
      // Either way the buffer goes back to its driver at once.
      if (bytes.byteLength >= COPY_BELOW_BYTES) this.counts.framesCopied++;
      // A copy, whatever the view's class: Buffer.prototype.slice (V4L2 frames are Buffers) shares memory.
      const copy = Uint8Array.prototype.slice.call(bytes);
      data.release();
      this.pushImage(frame, channel, copy);
      if (bytes.byteLength >= COPY_BELOW_BYTES) this.pendingLarge = true;
      return undefined;
    }
    channel.held++;
    this.pendingHeld.push({ data, channel });
    this.pendingLarge = true;
    this.pushImage(frame, channel, bytes);
    return undefined;
  }

  private pushImage(frame: Frame, channel: CameraChannel, bytes: Uint8Array): void {
    const form = channel.form!;
    const parts = imageMessageParts(frame.rigTimeNs, channel.camera, form, bytes);
    this.push({ channelId: channel.channelId, logTime: frame.rigTimeNs, publishTime: frame.deviceTimeNs, parts }, imageTypeOf(form), this.topicOf(channel));
    this.counts.framesWritten++;
  }

  private push(m: Omit<ChunkMessage, 'sequence'>, type: Ros2TypeName, topic: string): void {
    if (this.failure) return;
    // Measured once, here, when the prefix that states the length has just been made.
    const partLengths = m.parts.map((p) => p.byteLength);
    this.pending.push({ ...m, sequence: this.sequence++, partLengths });
    for (const length of partLengths) this.pendingBytes += length;
    this.pendingFirstNs ??= m.logTime;
    const t = this.topicCounts.get(topic) ?? { type, count: 0 };
    t.count++;
    this.topicCounts.set(topic, t);
  }

  private maybeFlush(nowNs: bigint): void {
    const age = this.pendingFirstNs === undefined ? 0 : Number(nowNs - this.pendingFirstNs);
    if (this.pendingLarge || this.pendingBytes >= (this.o.chunkBytes ?? 1024 * 1024) || age >= (this.o.chunkAgeNs ?? 500_000_000)) this.flush();
  }

  /** Hands the pending messages to the file as one chunk; held frames are released once it is on disk. */
  private flush(): void {
    if (this.pending.length === 0) return;
    const messages = this.pending;
    const held = this.pendingHeld;
    const bytes = this.pendingBytes;
    const firstNs = this.pendingFirstNs!;
    this.pending = [];
    this.pendingHeld = [];
    this.pendingBytes = 0;
    this.pendingFirstNs = undefined;
    this.pendingLarge = false;
    this.queuedBytes += bytes;
    this.chain = this.chain.then(async () => {
      try {
        if (!this.failure) {
          await this.rotateIfNeeded(firstNs);
          const file = this.files.at(-1)!;
          await file.writeChunk(messages);
          if (file.failure) this.fail(file.failure, messages);
          else this.counts.bytesWritten += bytes;
        } else {
          this.lose(messages);
        }
      } finally {
        this.queuedBytes -= bytes;
        for (const h of held) this.release(h.data, h.channel, 0);
        for (let i = this.drainWaiters.length - 1; i >= 0; i--) {
          const w = this.drainWaiters[i]!;
          if (this.queuedBytes + this.pendingBytes < w.belowBytes) {
            this.drainWaiters.splice(i, 1);
            w.resolve();
          }
        }
      }
    });
  }

  private release(data: FrameData, channel: CameraChannel, queued: number): void {
    channel.held--;
    this.queuedBytes -= queued;
    data.release();
  }

  /** A write failed: report it once; the chunk's frames and every later one are lost (counted). */
  private fail(error: SyncapError, messages: readonly ChunkMessage[]): void {
    this.failure = error;
    this.lose(messages);
    this.o.onWriteError?.(error);
  }

  private lose(messages: readonly ChunkMessage[]): void {
    const byChannel = new Map([...this.channels.values()].map((c) => [c.channelId, c]));
    for (const m of messages) {
      const channel = byChannel.get(m.channelId);
      if (!channel) continue;
      this.counts.framesWritten--;
      this.countNotRecorded(channel.camera.id, 'write-error');
    }
  }

  private countNotRecorded(cameraId: string, reason: NotRecordedReason): void {
    const byReason = this.notRecorded[cameraId] ?? {};
    byReason[reason] = (byReason[reason] ?? 0) + 1;
    this.notRecorded[cameraId] = byReason;
  }

  private topicOf(channel: CameraChannel): string {
    return cameraTopic(channel.camera.id, channel.form?.kind ?? 'raw');
  }

  private async rotateIfNeeded(nextNs: bigint): Promise<void> {
    const file = this.files.at(-1)!;
    this.fileStartNs ??= nextNs;
    const bySize = this.o.splitSizeBytes !== undefined && file.size >= BigInt(this.o.splitSizeBytes);
    const byTime = this.o.splitDurationNs !== undefined && Number(nextNs - this.fileStartNs) >= this.o.splitDurationNs;
    if (!bySize && !byTime) return;
    await this.closeFile(file);
    await this.writeBagMetadata();
    await this.openFile();
    this.fileStartNs = nextNs;
  }

  private async openFile(): Promise<void> {
    const path = join(this.o.dir, `${this.name}_${this.files.length}.mcap`);
    const file = await McapFileWriter.create(path, { profile: 'ros2', library: 'syncap' });
    const schemas = new Map<Ros2TypeName, number>();
    const schema = (type: Ros2TypeName) => {
      let id = schemas.get(type);
      if (id === undefined) {
        id = file.registerSchema({ name: type, encoding: 'ros2msg', data: new TextEncoder().encode(ros2SchemaText(type)) });
        schemas.set(type, id);
      }
      return id;
    };
    const qos = new Map([['offered_qos_profiles', '']]);
    for (const camera of this.o.cameras) {
      const given = imageFormOf(camera.pixelFormat);
      const encode = this.o.encode === 'jpeg' && given?.kind === 'raw' && camera.pixelFormat.toUpperCase() !== 'SIM';
      const form: ImageForm | undefined = encode ? { kind: 'compressed', format: 'jpeg' } : given;
      // A camera without a form still gets a topic (an empty one), as it has a place in the groups.
      const channelId = file.registerChannel({
        schemaId: schema(form ? imageTypeOf(form) : 'sensor_msgs/msg/Image'),
        topic: cameraTopic(camera.id, form?.kind ?? 'raw'),
        messageEncoding: 'cdr',
        metadata: qos,
      });
      const previous = this.channels.get(camera.id);
      this.channels.set(camera.id, {
        camera,
        channelId,
        form,
        encodeJpeg: encode,
        held: previous?.held ?? 0,
        holdLimit: camera.buffers !== undefined ? Math.max(1, Math.floor(camera.buffers / 2)) : 64,
      });
    }
    this.groupChannel = file.registerChannel({ schemaId: schema('syncap_msgs/msg/FrameGroup'), topic: GROUPS_TOPIC, messageEncoding: 'cdr', metadata: qos });
    this.clockChannel = file.registerChannel({ schemaId: schema('syncap_msgs/msg/ClockSample'), topic: CLOCK_TOPIC, messageEncoding: 'cdr', metadata: qos });
    this.files.push(file);
    if (this.o.metadata) await file.addMetadata('syncap.rig', new Map(Object.entries(this.o.metadata)));
  }

  private async closeFile(file: McapFileWriter): Promise<void> {
    await file.close();
    if (file.failure && !this.failure) this.fail(file.failure, []);
    const { start, end } = file.timeRange;
    this.fileInfos.push({ path: basename(file.path), startNs: start, durationNs: end - start, messageCount: Number(file.messageCount) });
  }

  private async writeBagMetadata(): Promise<void> {
    const topics = [...this.topicCounts].map(([name, t]) => ({ name, type: t.type, messageCount: t.count }));
    try {
      await writeFile(join(this.o.dir, 'metadata.yaml'), bagMetadataYaml(this.fileInfos, topics));
    } catch (error) {
      if (!this.failure) this.fail(fileError(error, `writing ${join(this.o.dir, 'metadata.yaml')}`), []);
    }
  }
}

function drop(data: FrameData | undefined, reason: NotRecordedReason): NotRecordedReason {
  data?.release();
  return reason;
}

/**
 * Creates a bag directory, or checks that it can be one: an existing non-empty directory, or
 * a file in its place, is refused with its reason (a recording is never overwritten or mixed).
 * Call it before capture starts, so that a bad `--record` path fails at once.
 */
export async function checkRecordingDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    const entries = await readdir(dir);
    if (entries.length > 0) throw new SyncapError('E_EXISTS', `recording directory ${dir} is not empty: choose a new one (a recording is never overwritten)`);
  } catch (error) {
    if (error instanceof SyncapError) throw error;
    throw fileError(error, `cannot create the recording directory ${dir}`);
  }
}
