import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '@foxglove/rosmsg';
import { MessageReader } from '@foxglove/rosmsg2-serialization';
import { openIndexed } from '@syncap/record';

/** One decoded message of a bag. */
export interface BagMessage {
  readonly topic: string;
  readonly type: string;
  readonly logTime: bigint;
  readonly publishTime: bigint;
  readonly value: Record<string, unknown> & { header?: { stamp: { sec: number; nanosec: number }; frame_id: string }; data?: Uint8Array };
}

/**
 * Reads every message of a recording with an independent decoder: @mcap/core's indexed reader
 * and @foxglove/rosmsg2-serialization's CDR reader over the ros2msg schema the file carries
 * (parsed here by @foxglove/rosmsg, not by the recorder's own schema module).
 */
export async function readBagFile(path: string): Promise<{ profile: string; messages: BagMessage[]; metadata: Map<string, Map<string, string>> }> {
  // The file is opened with @mcap/core's indexed reader; messages are decoded here, from the schemas the file carries.
  const { reader, close } = await openIndexed(path);
  try {
    const readers = new Map<number, MessageReader>();
    const messages: BagMessage[] = [];
    for await (const m of reader.readMessages()) {
      const channel = reader.channelsById.get(m.channelId)!;
      const schema = reader.schemasById.get(channel.schemaId)!;
      if (channel.messageEncoding !== 'cdr' || schema.encoding !== 'ros2msg')
        throw new Error(`${channel.topic}: ${channel.messageEncoding}/${schema.encoding}, not cdr/ros2msg`);
      let r = readers.get(channel.id);
      if (!r) {
        r = new MessageReader(parse(new TextDecoder().decode(schema.data), { ros2: true }));
        readers.set(channel.id, r);
      }
      messages.push({ topic: channel.topic, type: schema.name, logTime: m.logTime, publishTime: m.publishTime, value: r.readMessage(m.data) });
    }
    const metadata = new Map<string, Map<string, string>>();
    for await (const md of reader.readMetadata()) metadata.set(md.name, md.metadata);
    const profile = reader.header.profile;
    return { profile, messages, metadata };
  } finally {
    await close();
  }
}

/** The .mcap files of a bag directory, in order. */
export function bagFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.mcap'))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((f) => join(dir, f));
}

/** The only recording (bag directory) a `--record <dir>` run left in `dir`. */
export function onlyBag(dir: string): string {
  const bags = readdirSync(dir);
  if (bags.length !== 1) throw new Error(`${dir} holds ${bags.length} recordings, expected one: ${bags.join(', ')}`);
  return join(dir, bags[0]!);
}

/** A ROS time as ns. */
export function stampNs(s: { sec: number; nanosec: number }): bigint {
  return BigInt(s.sec) * 1_000_000_000n + BigInt(s.nanosec);
}
