import { type FileHandle, open } from 'node:fs/promises';
import type { ChunkIndex, Statistics } from '@mcap/core';
import { McapRecordBuilder, Opcode } from '@mcap/core';
import { SyncapError } from '@syncap/core';

/** One message of a chunk: its record fields and its payload as parts, written as they are. */
export interface ChunkMessage {
  readonly channelId: number;
  readonly sequence: number;
  readonly logTime: bigint;
  readonly publishTime: bigint;
  /** The payload: a serialized prefix and, for images, the pixels (never copied). */
  readonly parts: readonly Uint8Array[];
  /** Each part's length when the prefix was serialized (a zero-copy view may be detached by then). */
  readonly partLengths?: readonly number[];
}

/** opcode + length + channel id + sequence + log time + publish time. */
const MESSAGE_HEADER_BYTES = 1 + 8 + 2 + 4 + 8 + 8;
/** opcode + length + start + end + uncompressed size + crc + compression "" + records length. */
const CHUNK_HEADER_BYTES = 1 + 8 + 8 + 8 + 8 + 4 + 4 + 8;

/**
 * An MCAP file written from the JS thread without copying payloads: each chunk is one
 * `writev` of its header, the messages' record headers and their payload parts (image
 * prefixes, then the pixels themselves), then its message indexes — the write itself runs
 * on the libuv thread pool. Chunks are uncompressed with CRC 0 (which MCAP allows: no
 * check), so nothing reads the payload on the JS thread. Records other than chunk and
 * message headers come from @mcap/core's McapRecordBuilder. Writes are serialized; the
 * first failure (ENOSPC, EIO) is kept, the file is cut back to the last whole chunk, and
 * later writes are refused, so what was written stays readable.
 */
export class McapFileWriter {
  private readonly builder = new McapRecordBuilder();
  private readonly schemas = new Map<number, { id: number; name: string; encoding: string; data: Uint8Array }>();
  private readonly channels = new Map<number, { id: number; schemaId: number; topic: string; messageEncoding: string; metadata: Map<string, string> }>();
  private readonly chunkIndexes: ChunkIndex[] = [];
  private readonly metadataIndexes: Array<{ name: string; offset: bigint; length: bigint }> = [];
  private readonly statistics: Statistics = {
    messageCount: 0n,
    schemaCount: 0,
    channelCount: 0,
    attachmentCount: 0,
    metadataCount: 0,
    chunkCount: 0,
    messageStartTime: 0n,
    messageEndTime: 0n,
    channelMessageCounts: new Map(),
  };
  /** Where the next record starts (advanced when a write is queued, in queue order). */
  private position = 0n;
  /** The end of the last write that completed whole: what the file is cut back to on a failure. */
  private durablePosition = 0n;
  private tail: Promise<void> = Promise.resolve();
  private nextSchemaId = 1;
  private nextChannelId = 0;
  private started = false;
  /** The first write failure; later writes are not attempted. */
  failure: SyncapError | undefined;
  /** Bytes in writes queued and not finished. */
  pendingBytes = 0;
  /** Frame buffers the driver took back before they were written (written as zeros). */
  partsTakenBack = 0;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  /** Creates `path` (never overwrites: an existing file is E_EXISTS) and writes the magic and header. */
  static async create(path: string, header: { profile: string; library: string }): Promise<McapFileWriter> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'wx');
    } catch (error) {
      throw fileError(error, `cannot create ${path}`);
    }
    const writer = new McapFileWriter(path, handle);
    writer.builder.writeMagic();
    writer.builder.writeHeader(header);
    return writer;
  }

  registerSchema(schema: { name: string; encoding: string; data: Uint8Array }): number {
    const id = this.nextSchemaId++;
    this.schemas.set(id, { id, ...schema });
    this.statistics.schemaCount++;
    return id;
  }

  registerChannel(channel: { schemaId: number; topic: string; messageEncoding: string; metadata?: ReadonlyMap<string, string> }): number {
    const id = this.nextChannelId++;
    this.channels.set(id, {
      id,
      schemaId: channel.schemaId,
      topic: channel.topic,
      messageEncoding: channel.messageEncoding,
      metadata: new Map(channel.metadata),
    });
    this.statistics.channelCount++;
    this.statistics.channelMessageCounts.set(id, 0n);
    return id;
  }

  /** Queues a metadata record (outside chunks, indexed in the summary). */
  addMetadata(name: string, metadata: ReadonlyMap<string, string>): Promise<void> {
    this.startIfNeeded();
    const offset = this.position + BigInt(this.builder.length);
    const length = this.builder.writeMetadata({ name, metadata: new Map(metadata) });
    this.metadataIndexes.push({ name, offset, length });
    this.statistics.metadataCount++;
    return this.flushBuilder();
  }

  /** Queues one chunk of messages; resolves once it is on disk (or the writer has failed). */
  writeChunk(messages: readonly ChunkMessage[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    this.startIfNeeded();
    // Whatever small records are pending (schemas, channels) go first.
    const before = this.takeBuilder();
    const chunkStart = this.position + BigInt(before.byteLength);
    const parts: Uint8Array[] = before.byteLength > 0 ? [before, new Uint8Array(CHUNK_HEADER_BYTES)] : [new Uint8Array(CHUNK_HEADER_BYTES)];
    const chunkHeader = parts.at(-1)!;
    let recordsLength = 0n;
    let start = messages[0]!.logTime;
    let end = start;
    const index = new Map<number, Array<[bigint, bigint]>>();
    for (const m of messages) {
      const payload = m.partLengths ? this.wholeParts(m.parts, m.partLengths) : m.parts;
      const dataLength = payload.reduce((n, p) => n + p.byteLength, 0);
      const header = new Uint8Array(MESSAGE_HEADER_BYTES);
      const v = new DataView(header.buffer);
      v.setUint8(0, Opcode.MESSAGE);
      v.setBigUint64(1, BigInt(MESSAGE_HEADER_BYTES - 9 + dataLength), true);
      v.setUint16(9, m.channelId, true);
      v.setUint32(11, m.sequence >>> 0, true);
      v.setBigUint64(15, m.logTime, true);
      v.setBigUint64(23, m.publishTime, true);
      const list = index.get(m.channelId) ?? [];
      list.push([m.logTime, recordsLength]);
      index.set(m.channelId, list);
      parts.push(header, ...payload);
      recordsLength += BigInt(MESSAGE_HEADER_BYTES + dataLength);
      if (m.logTime < start) start = m.logTime;
      if (m.logTime > end) end = m.logTime;
      this.countMessage(m);
    }
    const h = new DataView(chunkHeader.buffer);
    h.setUint8(0, Opcode.CHUNK);
    h.setBigUint64(1, BigInt(CHUNK_HEADER_BYTES - 9) + recordsLength, true);
    h.setBigUint64(9, start, true);
    h.setBigUint64(17, end, true);
    h.setBigUint64(25, recordsLength, true); // uncompressed size
    h.setUint32(33, 0, true); // uncompressed CRC: 0, no check
    h.setUint32(37, 0, true); // compression: "" (none)
    h.setBigUint64(41, recordsLength, true);
    const chunkLength = BigInt(CHUNK_HEADER_BYTES) + recordsLength;
    const indexStart = chunkStart + chunkLength;
    const messageIndexOffsets = new Map<number, bigint>();
    for (const [channelId, records] of index) {
      messageIndexOffsets.set(channelId, indexStart + BigInt(this.builder.length));
      this.builder.writeMessageIndex({ channelId, records });
    }
    const indexes = this.takeBuilder();
    parts.push(indexes);
    this.chunkIndexes.push({
      messageStartTime: start,
      messageEndTime: end,
      chunkStartOffset: chunkStart,
      chunkLength,
      messageIndexOffsets,
      messageIndexLength: BigInt(indexes.byteLength),
      compression: '',
      compressedSize: recordsLength,
      uncompressedSize: recordsLength,
    });
    this.statistics.chunkCount++;
    return this.enqueue(parts);
  }

  /** Writes the data end, the summary (schemas, channels, statistics, indexes) and the footer, and closes the file. */
  async close(): Promise<void> {
    this.startIfNeeded();
    await this.tail;
    if (!this.failure) {
      this.builder.writeDataEnd({ dataSectionCrc: 0 });
      const summaryStart = this.position + BigInt(this.builder.length);
      const offsets: Array<{ groupOpcode: number; groupStart: bigint; groupLength: bigint }> = [];
      const group = (opcode: number, write: () => bigint) => {
        const groupStart = this.position + BigInt(this.builder.length);
        const groupLength = write();
        if (groupLength > 0n) offsets.push({ groupOpcode: opcode, groupStart, groupLength });
      };
      const sum = <T>(items: Iterable<T>, f: (item: T) => bigint) => [...items].reduce((n, i) => n + f(i), 0n);
      group(Opcode.SCHEMA, () => sum(this.schemas.values(), (s) => this.builder.writeSchema(s)));
      group(Opcode.CHANNEL, () => sum(this.channels.values(), (c) => this.builder.writeChannel(c)));
      group(Opcode.STATISTICS, () => this.builder.writeStatistics(this.statistics));
      group(Opcode.METADATA_INDEX, () => sum(this.metadataIndexes, (m) => this.builder.writeMetadataIndex(m)));
      group(Opcode.CHUNK_INDEX, () => sum(this.chunkIndexes, (c) => this.builder.writeChunkIndex(c)));
      const summaryOffsetStart = this.position + BigInt(this.builder.length);
      for (const o of offsets) this.builder.writeSummaryOffset(o);
      this.builder.writeFooter({ summaryStart, summaryOffsetStart, summaryCrc: 0 });
      this.builder.writeMagic();
      await this.flushBuilder();
    }
    await this.handle.close().catch(() => undefined);
  }

  /** Bytes queued so far (the file's size once every write is done). */
  get size(): bigint {
    return this.position + BigInt(this.builder.length);
  }

  get messageCount(): bigint {
    return this.statistics.messageCount;
  }

  /** Messages written per channel id. */
  get channelMessageCounts(): ReadonlyMap<number, bigint> {
    return this.statistics.channelMessageCounts;
  }

  /** The earliest and latest log time written. */
  get timeRange(): { start: bigint; end: bigint } {
    return { start: this.statistics.messageStartTime, end: this.statistics.messageEndTime };
  }

  private countMessage(m: ChunkMessage): void {
    const s = this.statistics;
    if (s.messageCount === 0n || m.logTime < s.messageStartTime) s.messageStartTime = m.logTime;
    if (s.messageCount === 0n || m.logTime > s.messageEndTime) s.messageEndTime = m.logTime;
    s.messageCount++;
    s.channelMessageCounts.set(m.channelId, (s.channelMessageCounts.get(m.channelId) ?? 0n) + 1n);
  }

  /** Schemas and channels go into the data section before the first chunk, so that every chunk can use them. */
  private startIfNeeded(): void {
    if (this.started) return;
    this.started = true;
    for (const s of this.schemas.values()) this.builder.writeSchema(s);
    for (const c of this.channels.values()) this.builder.writeChannel(c);
  }

  private takeBuilder(): Uint8Array {
    const bytes = this.builder.buffer.slice();
    this.builder.reset();
    return bytes;
  }

  private flushBuilder(): Promise<void> {
    const bytes = this.takeBuilder();
    return bytes.byteLength > 0 ? this.enqueue([bytes]) : this.tail;
  }

  private enqueue(parts: Uint8Array[]): Promise<void> {
    const lengths = parts.map((p) => p.byteLength);
    const bytes = lengths.reduce((n, l) => n + l, 0);
    const at = this.position;
    this.position += BigInt(bytes);
    this.pendingBytes += bytes;
    this.tail = this.tail.then(async () => {
      try {
        if (this.failure) return;
        await this.writeAll([...this.wholeParts(parts, lengths)], at);
        this.durablePosition = at + BigInt(bytes);
      } catch (error) {
        this.failure = fileError(error, `writing ${this.path}`);
        // Cut back to the last whole write, so that the file ends on a record boundary.
        await this.handle.truncate(Number(this.durablePosition)).catch(() => undefined);
      } finally {
        this.pendingBytes -= bytes;
      }
    });
    return this.tail;
  }

  /**
   * The parts as they were measured when queued. A frame's buffer taken back by its driver
   * before the write (a camera closed under a recording) reads as empty: it is written as
   * zeros of its length and counted, so the records around it keep their framing.
   */
  private wholeParts(parts: readonly Uint8Array[], lengths: readonly number[]): readonly Uint8Array[] {
    let out = parts as Uint8Array[];
    for (let i = 0; i < parts.length; i++) {
      if (parts[i]!.byteLength === lengths[i]) continue;
      if (out === parts) out = [...parts];
      out[i] = new Uint8Array(lengths[i]!);
      this.partsTakenBack++;
    }
    return out;
  }

  /** writev until every byte is written (a short write continues where it stopped). */
  private async writeAll(parts: Uint8Array[], at: bigint): Promise<void> {
    let offset = Number(at);
    let rest = parts;
    while (rest.length > 0) {
      // IOV_MAX is 1024 on Linux; libuv splits larger vectors, but bounded batches keep each call small.
      const batch = rest.slice(0, 512);
      const { bytesWritten } = await this.handle.writev(batch, offset);
      const total = batch.reduce((n, p) => n + p.byteLength, 0);
      offset += bytesWritten;
      if (bytesWritten === total) {
        rest = rest.slice(batch.length);
        continue;
      }
      // Short write: drop what was written and continue with the remainder.
      let skip = bytesWritten;
      const remaining: Uint8Array[] = [];
      for (const p of rest) {
        if (skip >= p.byteLength) {
          skip -= p.byteLength;
          continue;
        }
        remaining.push(skip > 0 ? p.subarray(skip) : p);
        skip = 0;
      }
      rest = remaining;
    }
  }
}

/** A file error as a SyncapError: a full disk and an existing file have their own codes. */
export function fileError(error: unknown, context: string): SyncapError {
  const code = (error as NodeJS.ErrnoException).code;
  const message = `${context}: ${(error as Error).message ?? String(error)}`;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new SyncapError('E_DISK_FULL', message, { cause: error });
  if (code === 'EEXIST') return new SyncapError('E_EXISTS', `${message} (choose another name: a recording is never overwritten)`, { cause: error });
  return new SyncapError('E_IO', message, { cause: error });
}
