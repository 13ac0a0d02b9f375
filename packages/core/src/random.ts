/**
 * A source of uniform randomness in [0, 1). core takes randomness through this
 * interface (jittered backoff, sampling) so simulations stay deterministic.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
}

/** The host's Math.random, for production use where determinism is not needed. */
export const systemRandom: Random = { next: () => Math.random() };
