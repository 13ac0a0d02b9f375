import { parse, stringify } from 'yaml';

/** One file of a bag, as rosbag2's metadata.yaml lists it. */
export interface BagFileInfo {
  readonly path: string;
  readonly startNs: bigint;
  readonly durationNs: bigint;
  readonly messageCount: number;
}

/** One topic of a bag. */
export interface BagTopicInfo {
  readonly name: string;
  readonly type: string;
  readonly messageCount: number;
}

/**
 * rosbag2's `metadata.yaml` (version 5: what ROS 2 Humble reads and later releases
 * accept), so that `ros2 bag info` and `ros2 bag play` take the bag directory.
 * Instants are ns since the epoch of the rig timebase (realtime), written exactly (bigint).
 */
export function bagMetadataYaml(files: readonly BagFileInfo[], topics: readonly BagTopicInfo[]): string {
  const start = files.length > 0 ? files.reduce((m, f) => (f.startNs < m ? f.startNs : m), files[0]!.startNs) : 0n;
  const end = files.reduce((m, f) => (f.startNs + f.durationNs > m ? f.startNs + f.durationNs : m), start);
  return stringify(
    {
      rosbag2_bagfile_information: {
        version: 5,
        storage_identifier: 'mcap',
        duration: { nanoseconds: end - start },
        starting_time: { nanoseconds_since_epoch: start },
        message_count: files.reduce((n, f) => n + f.messageCount, 0),
        topics_with_message_count: topics.map((t) => ({
          topic_metadata: { name: t.name, type: t.type, serialization_format: 'cdr', offered_qos_profiles: '' },
          message_count: t.messageCount,
        })),
        compression_format: '',
        compression_mode: '',
        relative_file_paths: files.map((f) => f.path),
        files: files.map((f) => ({
          path: f.path,
          starting_time: { nanoseconds_since_epoch: f.startNs },
          duration: { nanoseconds: f.durationNs },
          message_count: f.messageCount,
        })),
      },
    },
    { lineWidth: 0 },
  );
}

/** What `record info` needs from a metadata.yaml. */
export interface BagMetadata {
  readonly startNs: bigint;
  readonly durationNs: bigint;
  readonly messageCount: number;
  readonly files: readonly BagFileInfo[];
  readonly topics: readonly BagTopicInfo[];
}

/** Reads a rosbag2 metadata.yaml (versions 4–9: the fields all of them have). */
export function parseBagMetadata(text: string): BagMetadata {
  const doc = parse(text, { intAsBigInt: true }) as { rosbag2_bagfile_information?: Record<string, unknown> };
  const info = doc?.rosbag2_bagfile_information;
  if (!info) throw new Error('not a rosbag2 metadata.yaml (no rosbag2_bagfile_information)');
  const big = (v: unknown) => (typeof v === 'bigint' ? v : BigInt(Number(v ?? 0)));
  const files = ((info.files as Array<Record<string, unknown>> | undefined) ?? []).map((f) => ({
    path: String(f.path),
    startNs: big((f.starting_time as Record<string, unknown>)?.nanoseconds_since_epoch),
    durationNs: big((f.duration as Record<string, unknown>)?.nanoseconds),
    messageCount: Number(f.message_count ?? 0),
  }));
  const topics = ((info.topics_with_message_count as Array<Record<string, unknown>> | undefined) ?? []).map((t) => {
    const m = t.topic_metadata as Record<string, unknown>;
    return { name: String(m.name), type: String(m.type), messageCount: Number(t.message_count ?? 0) };
  });
  return {
    startNs: big((info.starting_time as Record<string, unknown>)?.nanoseconds_since_epoch),
    durationNs: big((info.duration as Record<string, unknown>)?.nanoseconds),
    messageCount: Number(info.message_count ?? 0),
    files,
    topics,
  };
}
