import { open, readFile } from 'node:fs/promises';
import { McapIndexedReader, McapStreamReader, type TypedMcapRecord } from '@mcap/core';

/** Opens an MCAP file with the indexed reader (needs a complete file: summary and footer). */
export async function readIndexed(path: string): Promise<McapIndexedReader> {
  const handle = await open(path, 'r');
  const size = BigInt((await handle.stat()).size);
  return McapIndexedReader.Initialize({
    readable: {
      size: async () => size,
      read: async (offset: bigint, length: bigint) => {
        const buffer = new Uint8Array(Number(length));
        await handle.read(buffer, 0, Number(length), Number(offset));
        return buffer;
      },
    },
  });
}

/** Reads every record a (possibly truncated) MCAP file holds, in order, stopping at the first incomplete one. */
export async function readStreamed(path: string): Promise<{ records: TypedMcapRecord[]; complete: boolean }> {
  const reader = new McapStreamReader();
  reader.append(await readFile(path));
  const records: TypedMcapRecord[] = [];
  for (;;) {
    const r = reader.nextRecord();
    if (!r) break;
    records.push(r);
  }
  return { records, complete: reader.done() };
}
