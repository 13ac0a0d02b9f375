/**
 * Time conventions (DESIGN §2).
 *
 * An *instant* is integer nanoseconds as `bigint` (`...Ns: bigint`).
 * A *duration* (offset, span, jitter) is nanoseconds as `number` (`...Ns: number`).
 * Wire and file formats carry instants as decimal strings.
 *
 * Two timebases never share a variable: *device* instants (CLOCK_MONOTONIC: V4L2
 * timestamps, what `CameraDevice.start({ atNs })` takes) and *rig* instants (the
 * timebase frame groups carry). `RigTimebase` converts between them, in one place.
 */

/** An absolute instant in nanoseconds. */
export type InstantNs = bigint;
/** A signed duration in nanoseconds. Exact for |d| < 2^53 ns (about 104 days). */
export type DurationNs = number;

export const NS_PER_MS = 1_000_000;
export const NS_PER_S = 1_000_000_000;

/** Frame period in ns for a rate in frames per second. */
export function periodNsFromFps(fps: number): DurationNs {
  return NS_PER_S / fps;
}

const DECIMAL_INSTANT = /^-?\d{1,20}$/;

/**
 * Parses an instant written as a decimal string of nanoseconds ("1000000000").
 * Throws a `RangeError` naming the value when it is not one.
 */
export function parseInstantNs(text: string): InstantNs {
  if (!DECIMAL_INSTANT.test(text)) {
    throw new RangeError(`not an instant in ns (expected a decimal integer string): ${JSON.stringify(text.slice(0, 40))}`);
  }
  return BigInt(text);
}

/** Formats an instant as its decimal string (the wire/file form). */
export function formatInstantNs(t: InstantNs): string {
  return t.toString();
}

/** A source of the current instant in some timebase (monotonic, rig, virtual). */
export interface Clock {
  /** Current instant in ns. */
  nowNs(): InstantNs;
}

/**
 * Timers used by components that wait (the capture manager, the sync server and
 * client). Always passed in — the host's (@syncap/host), fake timers or the sim
 * scheduler's — so that tests run on virtual time instead of the real clock.
 */
export interface Timers {
  setTimeout(fn: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Driver sequence numbers are u32: the forward distance from `prev` to `next` with wrap. */
export function seqForwardDistance(prev: number, next: number): number {
  return (next - prev + 0x1_0000_0000) % 0x1_0000_0000;
}
