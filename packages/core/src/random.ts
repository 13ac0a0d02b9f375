/**
 * A source of uniform randomness in [0, 1). core takes randomness through this
 * interface (jittered backoff, sampling) so simulations stay deterministic; the
 * composer passes the host's (@syncap/host) or a seeded one (@syncap/sim).
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
}
