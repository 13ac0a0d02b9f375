/**
 * Time conventions (DESIGN §2).
 *
 * An *instant* is integer nanoseconds as `bigint` (`...Ns: bigint`).
 * A *duration* (offset, span, jitter) is nanoseconds as `number` (`...Ns: number`).
 * Wire and file formats carry instants as decimal strings.
 */

/** An absolute instant in nanoseconds. */
export type InstantNs = bigint;
/** A signed duration in nanoseconds. Exact for |d| < 2^53 ns (about 104 days). */
export type DurationNs = number;

export const NS_PER_US = 1_000;
export const NS_PER_MS = 1_000_000;
export const NS_PER_S = 1_000_000_000;

/** `a - b` as a duration in ns. */
export function diffNs(a: InstantNs, b: InstantNs): DurationNs {
  return Number(a - b);
}

/** `t + d` where d is a duration in ns (rounded to an integer). */
export function addNs(t: InstantNs, d: DurationNs): InstantNs {
  return t + BigInt(Math.round(d));
}

export function msToNs(ms: number): DurationNs {
  return ms * NS_PER_MS;
}

export function nsToMs(ns: DurationNs): number {
  return ns / NS_PER_MS;
}

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
    throw new RangeError(`not an instant in ns (expected a decimal integer string): ${JSON.stringify(text)}`);
  }
  return BigInt(text);
}

/** Formats an instant as its decimal string (the wire/file form). */
export function formatInstantNs(t: InstantNs): string {
  return t.toString();
}

export function minInstant(a: InstantNs, b: InstantNs): InstantNs {
  return a < b ? a : b;
}

export function maxInstant(a: InstantNs, b: InstantNs): InstantNs {
  return a > b ? a : b;
}

/** A source of the current instant in some timebase (monotonic, rig, virtual). */
export interface Clock {
  /** Current instant in ns. */
  nowNs(): InstantNs;
}

/**
 * Timers used by components that wait (the capture manager). Injected so that
 * tests run on fake timers or the sim scheduler instead of the real clock.
 */
export interface Timers {
  setTimeout(fn: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

// core is built without DOM or Node typings (it must not depend on a host); the timer
// functions every JS host provides are reached through this narrow view.
const host = globalThis as unknown as {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
};

/** The host's timers (`globalThis.setTimeout`). */
export const systemTimers: Timers = {
  setTimeout: (fn, delayMs) => host.setTimeout(fn, delayMs),
  clearTimeout: (handle) => host.clearTimeout(handle),
};

/** Driver sequence numbers are u32: the forward distance from `prev` to `next` with wrap. */
export function seqForwardDistance(prev: number, next: number): number {
  return (next - prev + 0x1_0000_0000) % 0x1_0000_0000;
}
