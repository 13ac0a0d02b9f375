import { parse } from '@foxglove/rosmsg';
import { MessageReader } from '@foxglove/rosmsg2-serialization';
import { type Channel, FoxgloveClient, type MessageData } from '@foxglove/ws-protocol';
import { readPatternStamp } from '@syncap/sim';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { NODE_BIN, startProcess, stop, waitFor } from '../support/processes.js';

describe('live view in Foxglove', () => {
  it('capture --foxglove-port serves the recording topics: a Foxglove client decodes live images of the running cameras', async () => {
    const p = startProcess(NODE_BIN, [
      'capture',
      '--camera',
      'sim:320x180@30:YUYV',
      '--camera',
      'sim:320x180@30:YUYV',
      '--foxglove-port',
      '0',
      '--duration',
      '30',
    ]);
    try {
      const url = await waitFor(() => p.stdout.map((l) => /"foxglove":"([^"]+)"/.exec(l)?.[1]).find(Boolean), 20_000, 'the Foxglove URL');
      const client = new FoxgloveClient({ ws: new WebSocket(url, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]) as never });
      const seqs: number[] = [];
      const topics: string[] = [];
      const subscribed = new Map<number, Channel>();
      client.on('advertise', (channels: Channel[]) => {
        topics.push(...channels.map((c) => c.topic));
        const cam = channels.find((c) => c.topic === '/cam1/image_raw');
        if (cam) subscribed.set(client.subscribe(cam.id), cam);
      });
      client.on('message', (m: MessageData) => {
        const channel = subscribed.get(m.subscriptionId)!;
        const image = new MessageReader(parse(channel.schema, { ros2: true })).readMessage<{ width: number; height: number; data: Uint8Array }>(m.data);
        seqs.push(readPatternStamp(image.data, image.width, image.height, 2)!.seq);
      });
      await waitFor(() => (seqs.length >= 5 ? true : undefined), 20_000, 'five live images');
      expect(topics).toEqual(expect.arrayContaining(['/cam0/image_raw', '/cam1/image_raw', '/syncap/frame_groups', '/syncap/clock_samples']));
      // Live images of a running camera: their seq moves forward.
      expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!)).toBe(true);
      client.close();
    } finally {
      expect(await stop(p)).toBe(0);
    }
  }, 60_000);
});
