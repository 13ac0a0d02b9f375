import type { Frame } from './frame.js';
import type { DurationNs, InstantNs } from './time.js';
import { formatInstantNs } from './time.js';

const NONE_MISSING: readonly string[] = Object.freeze([]);

/**
 * One frame per camera, taken at (nearly) the same instant. Seed: `frame_group`.
 *
 * `timeNs` is the earliest member's rig time (as the seed's group_timestamp);
 * `spanNs` is latest − earliest.
 */
export class FrameGroup {
  /** Sequential per producer, in emission order. */
  readonly id: number;
  readonly timeNs: InstantNs;
  readonly spanNs: DurationNs;
  /** Every expected camera has a frame. */
  readonly complete: boolean;
  /** Emitted by `flush()` at the end of a stream rather than by the policy's rule. */
  readonly flushed: boolean;
  /** Members in rig order when the group was built from a complete, ordered list (the policies' hot path). */
  private readonly ordered: readonly Frame[] | undefined;
  private byCamera: ReadonlyMap<string, Frame> | undefined;
  private readonly missingIds: readonly string[];

  /** `members` is kept, not copied: the caller must not change it afterwards. */
  constructor(id: number, cameraOrder: readonly string[], members: readonly Frame[], flushed = false) {
    if (members.length === 0) throw new RangeError('a frame group needs at least one frame');
    this.id = id;
    this.flushed = flushed;
    let min = members[0]!.rigTimeNs;
    let max = min;
    for (let i = 1; i < members.length; i++) {
      const t = members[i]!.rigTimeNs;
      if (t < min) min = t;
      else if (t > max) max = t;
    }
    this.timeNs = min;
    this.spanNs = Number(max - min);
    // One frame per camera, in rig order: the by-camera map is built only if someone asks.
    let inOrder = members.length === cameraOrder.length;
    for (let i = 0; inOrder && i < members.length; i++) inOrder = members[i]!.cameraId === cameraOrder[i];
    if (inOrder) {
      this.ordered = members;
      this.complete = true;
      this.missingIds = NONE_MISSING;
      return;
    }
    const byCamera = new Map<string, Frame>();
    for (const f of members) byCamera.set(f.cameraId, f);
    const ordered = new Map<string, Frame>();
    const missing: string[] = [];
    for (const cam of cameraOrder) {
      const f = byCamera.get(cam);
      if (f) ordered.set(cam, f);
      else missing.push(cam);
    }
    this.ordered = undefined;
    this.byCamera = ordered;
    this.missingIds = missing;
    this.complete = missing.length === 0;
  }

  /** Members by camera id, in the rig's camera order. */
  get frames(): ReadonlyMap<string, Frame> {
    if (this.byCamera === undefined) {
      const map = new Map<string, Frame>();
      for (const f of this.ordered!) map.set(f.cameraId, f);
      this.byCamera = map;
    }
    return this.byCamera;
  }

  /** Expected cameras without a frame, in rig order. */
  get missing(): readonly string[] {
    return this.missingIds;
  }

  get size(): number {
    return this.ordered ? this.ordered.length : this.frames.size;
  }

  /** Seed: `is_well_synced(tolerance)`. Complete and spanning at most `toleranceNs`. */
  isWellSynced(toleranceNs: DurationNs): boolean {
    return this.complete && this.spanNs <= toleranceNs;
  }

  /** Releases every member's data (zero-copy buffers go back to their driver). */
  release(): void {
    for (const f of this.ordered ?? this.frames.values()) f.data?.release();
  }

  /** The group as one JSON Lines record (DESIGN §6 replay output); see frameGroupRecord. */
  toJSONLine(): string {
    return JSON.stringify(frameGroupRecord(this));
  }
}

/** Each member's sequence and rig time, by camera: the `frames` field of every JSON form of a group. */
export type FrameTimes = Record<string, { seq: number; t: string }>;

/** The JSON record of a group: replay output, the server's global-group index, the live feed. */
export interface FrameGroupRecord {
  readonly group: number;
  readonly t: string;
  readonly spanNs: number;
  readonly complete: boolean;
  /** Only on incomplete groups: the cameras without a frame. */
  readonly missing?: readonly string[];
  readonly frames: FrameTimes;
  /** Only on groups formed by flush() at the end of a stream. */
  readonly flushed?: true;
}

/** The one serializer of a group's JSON form. Key order is fixed, so identical runs give identical bytes. */
export function frameGroupRecord(group: FrameGroup): FrameGroupRecord {
  return {
    group: group.id,
    t: formatInstantNs(group.timeNs),
    spanNs: group.spanNs,
    complete: group.complete,
    ...(group.complete ? {} : { missing: group.missing }),
    frames: frameTimes(group.frames.values()),
    ...(group.flushed ? { flushed: true as const } : {}),
  };
}

/** `{ [camera]: { seq, t } }` for frames (a group's members, a report's). */
export function frameTimes(frames: Iterable<Frame>): FrameTimes {
  const out: FrameTimes = {};
  for (const f of frames) out[f.cameraId] = { seq: f.seq, t: formatInstantNs(f.rigTimeNs) };
  return out;
}
