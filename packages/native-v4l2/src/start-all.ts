import { DeviceError } from '@syncap/core';
import type { V4l2Camera, V4l2StartResult } from './v4l2-camera.js';

/** What `startAll` achieved. */
export interface StartAllResult {
  readonly atNs: bigint;
  readonly results: ReadonlyMap<string, V4l2StartResult>;
  /** Spread of the STREAMON instants across cameras, ns. */
  readonly skewNs: number;
  /** Latest camera's lateness relative to atNs, ns. */
  readonly maxLateNs: number;
}

/**
 * Starts every camera at one instant: each capture thread is prepared (buffers queued),
 * sleeps until `atNs` (clock_nanosleep TIMER_ABSTIME, then a short spin) and issues
 * STREAMON. The seed's barrier real-time part. Default instant: now + leadNs (50 ms).
 */
export async function startAll(cameras: readonly V4l2Camera[], options: { atNs?: bigint; leadNs?: number } = {}): Promise<StartAllResult> {
  if (cameras.length === 0) throw new DeviceError('E_CONFIG', '(none)', 'startAll needs at least one camera');
  const atNs = options.atNs ?? cameras[0]!.monotonicNowNs() + BigInt(options.leadNs ?? 50_000_000);
  const settled = await Promise.allSettled(cameras.map((c) => c.start({ atNs })));
  const failed = settled.flatMap((r, i) => (r.status === 'rejected' ? [{ camera: cameras[i]!, error: r.reason as Error }] : []));
  if (failed.length > 0) {
    // One camera failing leaves the rig unsynchronized: stop the others and say which failed.
    await Promise.allSettled(cameras.map((c) => c.stop()));
    throw new DeviceError(
      failed[0]!.error instanceof DeviceError ? failed[0]!.error.code : 'E_STREAMON',
      failed.map((f) => f.camera.id).join(', '),
      `synchronized start failed: ${failed.map((f) => f.error.message).join('; ')}`,
    );
  }
  const results = new Map<string, V4l2StartResult>();
  settled.forEach((r, i) => {
    results.set(cameras[i]!.id, (r as PromiseFulfilledResult<V4l2StartResult>).value);
  });
  const starts = [...results.values()].map((r) => r.startedAtNs);
  const min = starts.reduce((a, b) => (a < b ? a : b));
  const max = starts.reduce((a, b) => (a > b ? a : b));
  return { atNs, results, skewNs: Number(max - min), maxLateNs: Number(max - atNs) };
}
