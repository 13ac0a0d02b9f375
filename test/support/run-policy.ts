import { type CameraSpec, createPolicy, type DiscardReason, type Frame, type FrameGroup, type GroupingPolicy, type PolicyConfig } from '@syncap/core';

export interface PolicyRun {
  readonly policy: GroupingPolicy;
  readonly groups: FrameGroup[];
  readonly discarded: Map<Frame, DiscardReason>;
}

/** Feeds frames through a fresh policy and collects what comes out. */
export function runPolicy(
  config: PolicyConfig,
  cameras: readonly (string | CameraSpec)[],
  frames: Iterable<Frame>,
  options: { flush?: boolean } = {},
): PolicyRun {
  const groups: FrameGroup[] = [];
  const discarded = new Map<Frame, DiscardReason>();
  const specs = cameras.map((c) => (typeof c === 'string' ? { id: c } : c));
  const policy = createPolicy(config, specs, {
    group: (g) => groups.push(g),
    discard: (f, r) => {
      if (discarded.has(f)) throw new Error(`frame ${f.cameraId}#${f.seq} discarded twice`);
      discarded.set(f, r);
    },
  });
  for (const f of frames) policy.push(f);
  if (options.flush) policy.flush();
  return { policy, groups, discarded };
}

/** Asserts the invariants every policy keeps; returns a message for the first broken one. */
export function checkInvariants(run: PolicyRun, pushed: readonly Frame[], opts: { ordered?: boolean } = {}): string | null {
  const seen = new Set<Frame>();
  for (const g of run.groups) {
    for (const f of g.frames.values()) {
      if (seen.has(f)) return `frame ${f.cameraId}#${f.seq} is in two groups`;
      if (run.discarded.has(f)) return `frame ${f.cameraId}#${f.seq} is grouped and discarded`;
      seen.add(f);
    }
  }
  const accounted = seen.size + run.discarded.size + run.policy.pendingFrames;
  if (accounted !== pushed.length) {
    return `conservation: ${pushed.length} pushed but ${seen.size} grouped + ${run.discarded.size} discarded + ${run.policy.pendingFrames} pending = ${accounted}`;
  }
  if (opts.ordered !== false) {
    for (let i = 1; i < run.groups.length; i++) {
      if (run.groups[i]!.timeNs < run.groups[i - 1]!.timeNs) return `group ${run.groups[i]!.id} is older than group ${run.groups[i - 1]!.id}`;
    }
  }
  for (let i = 0; i < run.groups.length; i++) if (run.groups[i]!.id !== i) return `group ids are not sequential at ${i}`;
  // Whatever the policy, each camera's frames leave in the order they came.
  const lastByCamera = new Map<string, bigint>();
  for (const g of run.groups) {
    for (const [cam, f] of g.frames) {
      const last = lastByCamera.get(cam);
      if (last !== undefined && f.rigTimeNs <= last) return `camera ${cam}: group ${g.id} holds a frame older than an earlier group's`;
      lastByCamera.set(cam, f.rigTimeNs);
    }
  }
  return null;
}
