import { randomBytes } from 'node:crypto';
import type { Random } from '@syncap/core';

/** Math.random, where determinism is not wanted (backoff jitter in a real process). */
export const hostRandom: Random = { next: () => Math.random() };

/**
 * A session id that is new for every process run (64 random bits from the OS), so that a
 * node restarted with the same seed or config is never mistaken for its predecessor.
 */
export function randomSessionId(): string {
  return randomBytes(8).toString('hex');
}
