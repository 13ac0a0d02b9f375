import { globalCameraId, type ReceivedThumbnail, type SyncServer } from '@syncap/net';

/** One camera's latest thumbnail. */
export interface StoredThumbnail {
  readonly jpeg: Uint8Array;
  /** Counts up with every thumbnail stored for this camera (the dashboard refetches when it changes). */
  readonly version: number;
  readonly seq: number;
  readonly rigTimeNs: bigint;
  readonly width: number;
  readonly height: number;
  /** When it arrived (ms, the store's clock). */
  readonly atMs: number;
}

/** What the status and the live feed say of a camera's thumbnail (not its bytes). */
export interface ThumbnailIndexEntry {
  readonly version: number;
  readonly seq: number;
  readonly width: number;
  readonly height: number;
  readonly bytes: number;
  readonly atMs: number;
}

export interface ThumbnailStoreOptions {
  /** Bytes held at most over every camera; past it, the thumbnails updated longest ago go (counted). Default 32 MiB. */
  readonly maxTotalBytes?: number;
  /** A camera's thumbnails closer together than this are dropped (counted): a node cannot make the server copy at will, ms. Default 100. */
  readonly minIntervalMs?: number;
  /** Default Date.now. */
  readonly nowMs?: () => number;
}

/**
 * The latest thumbnail of every camera, for the dashboard: one per camera (a new one replaces
 * the last), each a copy (not a view into a socket's buffer), within a total byte budget. A
 * node's thumbnails go when it departs or is forgotten, and a camera's when its node says hello
 * without it.
 */
export class ThumbnailStore {
  /** By global camera id (node/camera), least recently updated first. */
  private readonly entries = new Map<string, StoredThumbnail>();
  private readonly versions = new Map<string, number>();
  private totalBytes = 0;
  private readonly maxTotalBytes: number;
  private readonly minIntervalMs: number;
  private readonly nowMs: () => number;
  /** Thumbnails stored, dropped for coming too often, and evicted for the byte budget. */
  readonly counters = { stored: 0, tooFrequent: 0, evicted: 0 };

  constructor(options: ThumbnailStoreOptions = {}) {
    this.maxTotalBytes = options.maxTotalBytes ?? 32 * 2 ** 20;
    this.minIntervalMs = options.minIntervalMs ?? 100;
    this.nowMs = options.nowMs ?? Date.now;
  }

  /** Keeps what `server` receives, and forgets what leaves. */
  follow(server: SyncServer): this {
    server.onEvent((e) => {
      if (e.type === 'thumbnail') this.put(e.nodeId, e.thumbnail);
      else if (e.type === 'node-forgotten' || (e.type === 'node-disconnected' && e.state === 'departed')) this.forgetNode(e.nodeId);
      else if (e.type === 'node-connected') {
        const cameras =
          server
            .status()
            .nodes.find((n) => n.nodeId === e.nodeId)
            ?.cameras.map((c) => c.id) ?? [];
        this.keepOnly(e.nodeId, new Set(cameras));
      }
    });
    return this;
  }

  /** Stores a camera's latest thumbnail (copied); false if it came too soon after the last. */
  put(nodeId: string, t: ReceivedThumbnail): boolean {
    const id = globalCameraId(nodeId, t.cameraId);
    const now = this.nowMs();
    const last = this.entries.get(id);
    if (last && now - last.atMs < this.minIntervalMs) {
      this.counters.tooFrequent++;
      return false;
    }
    const version = (this.versions.get(id) ?? 0) + 1;
    this.remove(id);
    const jpeg = new Uint8Array(t.jpeg); // a copy: the message's buffer may be a socket's
    this.entries.set(id, { jpeg, version, seq: t.seq, rigTimeNs: t.rigTimeNs, width: t.width, height: t.height, atMs: now });
    this.versions.set(id, version);
    this.totalBytes += jpeg.byteLength;
    this.counters.stored++;
    // Over budget: the thumbnails updated longest ago go (a camera that stopped sending, first).
    for (const [oldest] of this.entries) {
      if (this.totalBytes <= this.maxTotalBytes || oldest === id) break;
      this.remove(oldest);
      this.counters.evicted++;
    }
    return true;
  }

  get(nodeId: string, cameraId: string): StoredThumbnail | undefined {
    return this.entries.get(globalCameraId(nodeId, cameraId));
  }

  /** Every stored thumbnail's version and size, by global camera id. */
  index(): Record<string, ThumbnailIndexEntry> {
    return Object.fromEntries(
      [...this.entries].map(([id, t]) => [id, { version: t.version, seq: t.seq, width: t.width, height: t.height, bytes: t.jpeg.byteLength, atMs: t.atMs }]),
    );
  }

  /** Thumbnails held, and their bytes. */
  get size(): { readonly thumbnails: number; readonly bytes: number } {
    return { thumbnails: this.entries.size, bytes: this.totalBytes };
  }

  private forgetNode(nodeId: string): void {
    this.keepOnly(nodeId, new Set());
  }

  private keepOnly(nodeId: string, cameras: ReadonlySet<string>): void {
    const prefix = globalCameraId(nodeId, '');
    for (const id of [...this.entries.keys()]) if (id.startsWith(prefix) && !cameras.has(id.slice(prefix.length))) this.remove(id);
    for (const id of [...this.versions.keys()]) if (id.startsWith(prefix) && !cameras.has(id.slice(prefix.length))) this.versions.delete(id);
  }

  private remove(id: string): void {
    const t = this.entries.get(id);
    if (!t) return;
    this.entries.delete(id);
    this.totalBytes -= t.jpeg.byteLength;
  }
}
