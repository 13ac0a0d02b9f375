import { parse } from '@foxglove/rosmsg';
import { MessageReader } from '@foxglove/rosmsg2-serialization';
import { type Channel, FoxgloveClient, type MessageData } from '@foxglove/ws-protocol';
import { WebSocket } from 'ws';

/** A decoded sensor_msgs Image or CompressedImage (the fields a test reads). */
export interface LiveImage {
  readonly width?: number;
  readonly height?: number;
  readonly encoding?: string;
  readonly step?: number;
  readonly format?: string;
  readonly data: Uint8Array;
}

/**
 * A Foxglove client on `url` that subscribes to every advertised topic `wanted` accepts and
 * decodes each message from the schema its channel advertises (CDR, ros2msg).
 */
export function watchImages(
  url: string,
  wanted: (topic: string) => boolean,
  onImage: (topic: string, image: LiveImage) => void,
): { client: FoxgloveClient; topics: string[] } {
  const client = new FoxgloveClient({ ws: new WebSocket(url, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]) as never });
  const topics: string[] = [];
  const subscribed = new Map<number, { topic: string; reader: MessageReader }>();
  client.on('advertise', (channels: Channel[]) => {
    topics.push(...channels.map((c) => c.topic));
    for (const channel of channels.filter((c) => wanted(c.topic))) {
      subscribed.set(client.subscribe(channel.id), { topic: channel.topic, reader: new MessageReader(parse(channel.schema, { ros2: true })) });
    }
  });
  client.on('message', (m: MessageData) => {
    const s = subscribed.get(m.subscriptionId);
    if (s) onImage(s.topic, s.reader.readMessage<LiveImage>(m.data));
  });
  return { client, topics };
}
