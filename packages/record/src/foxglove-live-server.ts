import type { AddressInfo } from 'node:net';
import wsProtocol from '@foxglove/ws-protocol';
import { type ClockSample, type FrameGroup, isH264Keyframe, SyncapError, seqForwardDistance } from '@syncap/core';
import { WebSocketServer } from 'ws';

// @foxglove/ws-protocol is CommonJS: its classes come from the default export under Node's ESM loader.
const { FoxgloveServer } = wsProtocol;
type FoxgloveServer = InstanceType<typeof FoxgloveServer>;

import { clockSampleMessage, frameGroupMessage, type ImageForm, imageFormOf, imageMessageParts, imageTypeOf } from './ros2-messages.js';
import type { RecorderCamera } from './ros2-recorder.js';
import { type Ros2TypeName, ros2SchemaText } from './ros2-schemas.js';
import { CLOCK_TOPIC, cameraTopic, GROUPS_TOPIC } from './topics.js';

export interface FoxgloveLiveOptions {
  readonly cameras: readonly RecorderCamera[];
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 8765 (Foxglove's); 0 picks a free one. */
  readonly port?: number;
  /** Images per second and camera at most (groups, clock samples and video frames are always sent). Default 10. */
  readonly maxImagesPerSec?: number;
  /** A client with more than this buffered gets no images until it drains, bytes. Default 8 MiB. */
  readonly maxBufferedBytes?: number;
}

interface LiveChannel {
  readonly id: number;
  readonly camera: RecorderCamera;
  readonly form: ImageForm | undefined;
  subscribed: boolean;
  lastSentNs: bigint | undefined;
  /** Video only: frames wait for a keyframe (after a subscribe, a frame skipped, or one missing from the groups). */
  awaitingKeyframe: boolean;
  /** Video only: the sequence number of the camera's last frame seen here. */
  lastSeq: number | undefined;
}

/**
 * A Foxglove WebSocket server (foxglove.websocket.v1, @foxglove/ws-protocol) serving the
 * topics a recording has — `/<camera>/image_raw[/compressed|/foxglove]`, `/syncap/frame_groups`,
 * `/syncap/clock_samples` — live, in the same ROS 2 CDR, so Foxglove opens a rig as it opens
 * its bags. It never slows capture: images go only to subscribed channels, at most
 * `maxImagesPerSec` per camera, and not at all to a client whose socket is backed up (counted).
 * Video (H264) decodes only in sequence, so its frames are never thinned: every one is sent,
 * from a keyframe on; a frame skipped for a backed-up client, or missing from the groups (a
 * sequence gap), makes the channel wait for the next keyframe. The wait is per channel, not
 * per client (@foxglove/ws-protocol broadcasts): a second client subscribing while another
 * watches gets the stream where it is, and Foxglove shows it from the next keyframe.
 * An image is copied into its message (the frame goes back to its driver at once; a socket may
 * hold it for as long as the network takes).
 */
export class FoxgloveLiveServer {
  private readonly channels = new Map<string, LiveChannel>();
  private readonly groupChannel: number;
  private readonly clockChannel: number;
  /** Images not sent because a client was backed up, or the rate cap. */
  readonly counts = { imagesSent: 0, imagesSkippedBackedUp: 0, videoFramesAwaitingKeyframe: 0, groupsSent: 0 };

  private readonly minImageIntervalNs: bigint;

  private constructor(
    private readonly wss: WebSocketServer,
    private readonly server: FoxgloveServer,
    private readonly o: FoxgloveLiveOptions,
  ) {
    this.minImageIntervalNs = BigInt(Math.round(1e9 / (o.maxImagesPerSec ?? 10)));
    const add = (topic: string, type: Ros2TypeName) =>
      server.addChannel({ topic, encoding: 'cdr', schemaName: type, schema: ros2SchemaText(type), schemaEncoding: 'ros2msg' });
    for (const camera of o.cameras) {
      const form = imageFormOf(camera.pixelFormat);
      const id = add(cameraTopic(camera.id, form?.kind ?? 'raw'), form ? imageTypeOf(form) : 'sensor_msgs/msg/Image');
      this.channels.set(camera.id, { id, camera, form, subscribed: false, lastSentNs: undefined, awaitingKeyframe: true, lastSeq: undefined });
    }
    this.groupChannel = add(GROUPS_TOPIC, 'syncap_msgs/msg/FrameGroup');
    this.clockChannel = add(CLOCK_TOPIC, 'syncap_msgs/msg/ClockSample');
    const byId = new Map([...this.channels.values()].map((c) => [c.id, c]));
    server.on('subscribe', (id) => {
      const c = byId.get(id);
      if (!c) return;
      c.subscribed = true;
      c.awaitingKeyframe = true;
    });
    server.on('unsubscribe', (id) => {
      const c = byId.get(id);
      if (c) c.subscribed = false;
    });
    server.on('error', () => {
      // A misbehaving client's protocol error; the library closes it. Capture goes on.
    });
  }

  /** Starts listening. A port in use is an E_IO error naming it. */
  static async start(options: FoxgloveLiveOptions): Promise<FoxgloveLiveServer> {
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? 8765;
    const server = new FoxgloveServer({ name: 'syncap', capabilities: [] });
    const wss = new WebSocketServer({ host, port, handleProtocols: (protocols) => server.handleProtocols(protocols), maxPayload: 64 * 1024 });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new SyncapError(
            'E_IO',
            `Foxglove live view: cannot listen on ${host}:${port}: ${error.code === 'EADDRINUSE' ? 'the port is in use' : error.message}`,
          ),
        ),
      );
    });
    wss.on('connection', (socket, request) => server.handleConnection(socket, `${request.socket.remoteAddress}:${request.socket.remotePort}`));
    return new FoxgloveLiveServer(wss, server, options);
  }

  /** The port it listens on. */
  get port(): number {
    return (this.wss.address() as AddressInfo).port;
  }

  /** ws://host:port, what Foxglove's "Open connection" takes. */
  get url(): string {
    return `ws://${this.o.host ?? '127.0.0.1'}:${this.port}`;
  }

  /** Publishes a group: its record, and its subscribed cameras' images within the rate cap. Call before the group is released. */
  publishGroup(group: FrameGroup): void {
    this.server.sendMessage(this.groupChannel, group.timeNs, frameGroupMessage(group, new Map()) as Uint8Array<ArrayBuffer>);
    this.counts.groupsSent++;
    let backedUp: boolean | undefined;
    for (const frame of group.frames.values()) {
      const c = this.channels.get(frame.cameraId);
      const bytes = frame.data?.bytes;
      if (!c?.subscribed || !c.form || !bytes) continue;
      const video = c.form.kind === 'video';
      if (video) {
        if (c.lastSeq !== undefined && seqForwardDistance(c.lastSeq, frame.seq) !== 1) c.awaitingKeyframe = true;
        c.lastSeq = frame.seq;
      }
      if (!video && c.lastSentNs !== undefined && frame.rigTimeNs - c.lastSentNs < this.minImageIntervalNs) continue;
      backedUp ??= [...this.wss.clients].some((s) => s.bufferedAmount > (this.o.maxBufferedBytes ?? 8 * 2 ** 20));
      if (backedUp) {
        this.counts.imagesSkippedBackedUp++;
        c.awaitingKeyframe = true;
        continue;
      }
      if (video && c.awaitingKeyframe) {
        if (!isH264Keyframe(bytes)) {
          this.counts.videoFramesAwaitingKeyframe++;
          continue;
        }
        c.awaitingKeyframe = false;
      }
      c.lastSentNs = frame.rigTimeNs;
      this.server.sendMessage(c.id, frame.rigTimeNs, Buffer.concat(imageMessageParts(frame.rigTimeNs, c.camera, c.form, bytes)));
      this.counts.imagesSent++;
    }
  }

  publishClock(sample: ClockSample, atRigNs: bigint): void {
    this.server.sendMessage(this.clockChannel, atRigNs, clockSampleMessage(sample, atRigNs) as Uint8Array<ArrayBuffer>);
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
