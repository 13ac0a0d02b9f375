import { type CameraSpec, createPolicy, type DiscardReason, type FrameGroup, ParseError, type PolicyConfig } from '@syncap/core';
import { parseTraceFrame, parseTraceHeader, type TraceHeader } from './trace-format.js';

export interface ReplayOptions {
  /** Emit groups still pending at the end, marked `flushed`. */
  readonly flush?: boolean;
}

export interface ReplaySummary {
  readonly header: TraceHeader;
  readonly frames: number;
  readonly groups: number;
  readonly discarded: Readonly<Partial<Record<DiscardReason, number>>>;
  /** Frames still held by the policy at the end (0 with flush). */
  readonly pendingFrames: number;
}

/**
 * Replays a trace through a policy, calling `onGroup` for each group in emission
 * order. Deterministic: the same trace and options give the same groups.
 * Lines come from any iterable (a file read line by line, or an array).
 * Throws ParseError naming the first malformed line.
 */
export async function replayTrace(
  lines: AsyncIterable<string> | Iterable<string>,
  policy: PolicyConfig,
  onGroup: (group: FrameGroup) => void,
  options: ReplayOptions = {},
): Promise<ReplaySummary> {
  let lineNo = 0;
  let header: TraceHeader | undefined;
  let p: ReturnType<typeof createPolicy> | undefined;
  let cameraIds: Set<string> = new Set();
  let frames = 0;
  let groups = 0;
  const discarded: Partial<Record<DiscardReason, number>> = {};
  for await (const raw of lines) {
    lineNo++;
    const line = raw.trim();
    if (line === '') continue;
    if (!header) {
      header = parseTraceHeader(line);
      const cameras: CameraSpec[] = header.cameras.map((c) => ({ id: c.id, fps: c.fps }));
      cameraIds = new Set(cameras.map((c) => c.id));
      p = createPolicy(policy, cameras, {
        group: (g) => {
          groups++;
          onGroup(g);
        },
        discard: (_f, reason) => {
          discarded[reason] = (discarded[reason] ?? 0) + 1;
        },
      });
      continue;
    }
    p!.push(parseTraceFrame(line, lineNo, cameraIds));
    frames++;
  }
  if (!header || !p) throw new ParseError('trace is empty: expected a header line');
  if (options.flush) p.flush();
  return { header, frames, groups, discarded, pendingFrames: p.pendingFrames };
}
