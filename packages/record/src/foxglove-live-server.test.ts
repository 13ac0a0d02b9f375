import { parse } from '@foxglove/rosmsg';
import { MessageReader } from '@foxglove/rosmsg2-serialization';
import { type Channel, FoxgloveClient, type MessageData } from '@foxglove/ws-protocol';
import { type Frame, FrameGroup } from '@syncap/core';
import { readPatternStamp, renderTestPattern } from '@syncap/sim';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { FoxgloveLiveServer } from './foxglove-live-server.js';

function frame(cameraId: string, seq: number, rigTimeNs: bigint): Frame {
  const bytes = new Uint8Array(320 * 180 * 2);
  renderTestPattern(bytes, 320, 180, 'YUYV', { cameraId, seq, exposureNs: rigTimeNs });
  return { cameraId, seq, deviceTimeNs: rigTimeNs, rigTimeNs, flags: 0, data: { bytes, release: () => {} } };
}

let live: FoxgloveLiveServer | undefined;
afterEach(async () => {
  await live?.close();
  live = undefined;
});

/** Connects a real Foxglove client, subscribes to `topics`, and collects what arrives. */
async function connect(url: string, topics: readonly string[]) {
  const client = new FoxgloveClient({ ws: new WebSocket(url, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]) as never });
  const channels = new Map<number, Channel>();
  const received: Array<{ topic: string; value: Record<string, unknown> }> = [];
  const subscribed = new Map<number, Channel>();
  client.on('message', (m: MessageData) => {
    const channel = subscribed.get(m.subscriptionId)!;
    const reader = new MessageReader(parse(channel.schema, { ros2: true }));
    received.push({ topic: channel.topic, value: reader.readMessage(m.data) });
  });
  await new Promise<void>((resolve) => {
    client.on('advertise', (list: Channel[]) => {
      for (const c of list) channels.set(c.id, c);
      for (const c of list) if (topics.includes(c.topic)) subscribed.set(client.subscribe(c.id), c);
      if (subscribed.size === topics.length) resolve();
    });
  });
  return { client, channels, received };
}

const tick = () => new Promise((r) => setImmediate(r));
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !check(); i++) await tick();
  expect(check()).toBe(true);
}

describe('FoxgloveLiveServer: the recording topics, live', () => {
  it('a Foxglove client sees the bag topics and decodes live images and groups in the same CDR', async () => {
    live = await FoxgloveLiveServer.start({ port: 0, cameras: [{ id: 'left', width: 320, height: 180, pixelFormat: 'YUYV' }], maxImagesPerSec: 1000 });
    const { client, channels, received } = await connect(live.url, ['/left/image_raw', '/syncap/frame_groups']);
    expect([...channels.values()].map((c) => `${c.topic} ${c.schemaName} ${c.encoding}`)).toEqual([
      '/left/image_raw sensor_msgs/msg/Image cdr',
      '/syncap/frame_groups syncap_msgs/msg/FrameGroup cdr',
      '/syncap/clock_samples syncap_msgs/msg/ClockSample cdr',
    ]);
    // Subscriptions reach the server before it has anything to send.
    await until(() => live!.counts.groupsSent === 0 && received.length === 0);
    for (let i = 0; i < 3; i++) await tick();
    for (let k = 0; k < 3; k++) live.publishGroup(new FrameGroup(k, ['left'], [frame('left', k, 1_700_000_000_000_000_000n + BigInt(k) * 33_333_333n)]));
    await until(() => received.length === 6);
    const images = received.filter((r) => r.topic === '/left/image_raw');
    expect(images.map((i) => readPatternStamp(i.value.data as Uint8Array, 320, 180, 2)?.seq)).toEqual([0, 1, 2]);
    expect(images[0]!.value).toMatchObject({ width: 320, height: 180, encoding: 'yuv422_yuy2', header: { frame_id: 'left' } });
    expect(received.filter((r) => r.topic === '/syncap/frame_groups').map((g) => g.value.cameras)).toEqual([['left'], ['left'], ['left']]);
    client.close();
  });

  it('never floods: images at most maxImagesPerSec per camera, nothing for unsubscribed topics', async () => {
    live = await FoxgloveLiveServer.start({ port: 0, cameras: [{ id: 'a', width: 320, height: 180, pixelFormat: 'YUYV' }], maxImagesPerSec: 10 });
    const { client, received } = await connect(live.url, ['/a/image_raw']);
    for (let i = 0; i < 3; i++) await tick();
    // 30 frames over one second of rig time at 10 images/s: 10 images.
    for (let k = 0; k < 30; k++) live.publishGroup(new FrameGroup(k, ['a'], [frame('a', k, BigInt(k) * 33_333_334n)]));
    await until(() => live!.counts.imagesSent === 10 && received.length === 10);
    client.close();
  });
});
