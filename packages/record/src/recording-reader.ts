import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MessageReader } from '@foxglove/rosmsg2-serialization';
import { McapIndexedReader, McapStreamReader, type McapTypes } from '@mcap/core';
import { ParseError, SyncapError } from '@syncap/core';
import { parseBagMetadata } from './bag-metadata.js';
import { ros2Definitions } from './ros2-schemas.js';
import { cameraOfTopic, GROUPS_TOPIC } from './topics.js';

/** What `syncap-node record info` reports of a recording, as `ros2 bag info` does. */
export interface RecordingInfo {
  readonly path: string;
  readonly files: ReadonlyArray<{ readonly path: string; readonly bytes: number; readonly indexed: boolean }>;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly messageCount: number;
  readonly topics: ReadonlyArray<{ readonly name: string; readonly type: string; readonly messageCount: number }>;
  /** Frames written per camera (from the image topics). */
  readonly framesByCamera: Readonly<Record<string, number>>;
  /** Frames captured but not written, per camera, by reason (from the recorder's summary). */
  readonly notRecorded: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly groups: { readonly total: number; readonly complete: number; readonly incomplete: number };
  /** The rig config and cameras the recording was made with (`syncap.rig` metadata). */
  readonly rig: Readonly<Record<string, string>>;
}

/** Opens an MCAP file with the indexed reader (it needs the summary a finished recording has). */
export async function openIndexed(path: string): Promise<{ reader: McapIndexedReader; close(): Promise<void> }> {
  const handle = await open(path, 'r');
  const size = BigInt((await handle.stat()).size);
  const reader = await McapIndexedReader.Initialize({
    readable: {
      size: async () => size,
      read: async (offset: bigint, length: bigint) => {
        // read() may return less than asked (large reads, some filesystems): read until whole.
        const buffer = new Uint8Array(Number(length));
        let done = 0;
        while (done < buffer.byteLength) {
          const { bytesRead } = await handle.read(buffer, done, buffer.byteLength - done, Number(offset) + done);
          if (bytesRead === 0) throw new ParseError(`${path}: ends at byte ${Number(offset) + done}, inside a record the index points to`);
          done += bytesRead;
        }
        return buffer;
      },
    },
  });
  return { reader, close: () => handle.close() };
}

/**
 * Calls `onRecord` for every record a (possibly truncated: killed, disk full) MCAP file
 * holds, up to its first incomplete one, reading the file in pieces (bounded memory).
 * Resolves with whether the file was complete (it ended with its footer and magic).
 */
export async function forEachRecord(path: string, onRecord: (record: McapTypes.TypedMcapRecord) => void): Promise<{ complete: boolean }> {
  const reader = new McapStreamReader({ validateCrcs: false });
  const handle = await open(path, 'r');
  try {
    const piece = new Uint8Array(16 * 1024 * 1024);
    for (;;) {
      const { bytesRead } = await handle.read(piece, 0, piece.byteLength, null);
      if (bytesRead === 0) break;
      reader.append(piece.slice(0, bytesRead));
      for (;;) {
        let r: McapTypes.TypedMcapRecord | undefined;
        try {
          r = reader.nextRecord();
        } catch {
          return { complete: false }; // a record cut off or damaged: what came before it stands
        }
        if (!r) break;
        onRecord(r);
      }
    }
    return { complete: reader.done() };
  } finally {
    await handle.close();
  }
}

/** Every record of a file (tests, small files): see forEachRecord. */
export async function readStreamed(path: string): Promise<{ records: McapTypes.TypedMcapRecord[]; complete: boolean }> {
  const records: McapTypes.TypedMcapRecord[] = [];
  const { complete } = await forEachRecord(path, (r) => records.push(r));
  return { records, complete };
}

/**
 * Reads a bag directory (metadata.yaml and its MCAP files) or one MCAP file and says what
 * it holds. Files without a summary (a recording that was killed) are read to their last
 * whole record.
 */
export async function readRecordingInfo(path: string): Promise<RecordingInfo> {
  let files: string[];
  try {
    files = (await stat(path)).isDirectory() ? await bagFiles(path) : [path];
  } catch (error) {
    if (error instanceof SyncapError) throw error;
    throw new SyncapError(
      'E_IO',
      `cannot read recording ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (error as Error).message}`,
    );
  }
  const topics = new Map<string, { type: string; count: number }>();
  const framesByCamera: Record<string, number> = {};
  const notRecorded: Record<string, Record<string, number>> = {};
  const rig: Record<string, string> = {};
  const groups = { total: 0, complete: 0, incomplete: 0 };
  let start: bigint | undefined;
  let end: bigint | undefined;
  let messageCount = 0;
  const fileInfos: Array<{ path: string; bytes: number; indexed: boolean }> = [];
  for (const file of files) {
    const bytes = (await stat(file)).size;
    const schemas = new Map<number, McapTypes.Schema>();
    const channels = new Map<number, McapTypes.Channel>();
    const readers = new Map<number, MessageReader>();
    let indexed = false;
    await forEachRecord(file, (r) => {
      if (r.type === 'Schema') schemas.set(r.id, r);
      else if (r.type === 'Channel') channels.set(r.id, r);
      else if (r.type === 'Footer') indexed = r.summaryStart !== 0n;
      else if (r.type === 'Metadata' && r.name === 'syncap.rig') Object.assign(rig, Object.fromEntries(r.metadata));
      else if (r.type === 'Metadata' && r.name === 'syncap.recording') mergeNotRecorded(notRecorded, r.metadata.get('notRecorded'));
      else if (r.type === 'Message') {
        const channel = channels.get(r.channelId);
        if (!channel) throw new ParseError(`${file}: a message on channel ${r.channelId}, which the file never defined`);
        messageCount++;
        if (start === undefined || r.logTime < start) start = r.logTime;
        if (end === undefined || r.logTime > end) end = r.logTime;
        const schema = schemas.get(channel.schemaId);
        const t = topics.get(channel.topic) ?? { type: schema?.name ?? '', count: 0 };
        t.count++;
        topics.set(channel.topic, t);
        const camera = cameraOfTopic(channel.topic);
        if (camera !== undefined) {
          framesByCamera[camera] = (framesByCamera[camera] ?? 0) + 1;
        } else if (channel.topic === GROUPS_TOPIC && schema) {
          let reader = readers.get(channel.id);
          if (!reader) {
            reader = new MessageReader(ros2Definitions(new TextDecoder().decode(schema.data)));
            readers.set(channel.id, reader);
          }
          const g = reader.readMessage<{ complete: boolean }>(r.data);
          groups.total++;
          if (g.complete) groups.complete++;
          else groups.incomplete++;
        }
      }
    });
    fileInfos.push({ path: file, bytes, indexed });
  }
  return {
    path,
    files: fileInfos,
    startNs: start ?? 0n,
    endNs: end ?? 0n,
    messageCount,
    topics: [...topics].map(([name, t]) => ({ name, type: t.type, messageCount: t.count })),
    framesByCamera,
    notRecorded,
    groups,
    rig,
  };
}

/** The MCAP files of a bag directory, in metadata.yaml's order (or by name without one). */
async function bagFiles(dir: string): Promise<string[]> {
  let listed: string[] | undefined;
  try {
    listed = parseBagMetadata(await readFile(join(dir, 'metadata.yaml'), 'utf8')).files.map((f) => f.path);
  } catch {
    listed = undefined;
  }
  const present = (await readdir(dir)).filter((f) => f.endsWith('.mcap')).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  // A killed recording has no metadata.yaml for its last file: read what is there.
  const names = listed ? [...listed, ...present.filter((f) => !listed!.includes(f))] : present;
  if (names.length === 0) throw new SyncapError('E_IO', `${dir} holds no .mcap files: not a recording`);
  return names.map((f) => join(dir, f));
}

function mergeNotRecorded(into: Record<string, Record<string, number>>, json: string | undefined): void {
  if (!json) return;
  const parsed = JSON.parse(json) as Record<string, Record<string, number>>;
  for (const [camera, reasons] of Object.entries(parsed)) {
    const mine = into[camera] ?? {};
    for (const [reason, n] of Object.entries(reasons)) mine[reason] = (mine[reason] ?? 0) + n;
    into[camera] = mine;
  }
}
