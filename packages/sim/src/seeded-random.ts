import type { Random } from '@syncap/core';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';

/** 32-bit FNV-1a of a string: turns a stream name into seed material. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Deterministic randomness for simulations. `fork(name)` derives an independent
 * stream per camera / clock / link, so adding a camera does not change what the
 * others draw, and one seed replays a whole run.
 */
export class SeededRandom implements Random {
  private readonly rng: JumpableRandomGenerator;
  private spareNormal: number | undefined;

  constructor(
    readonly seed: number,
    readonly stream = '',
  ) {
    this.rng = xoroshiro128plus((seed ^ hashName(stream)) | 0);
    // Decorrelate neighbouring seeds before first use.
    for (let i = 0; i < 8; i++) this.rng.next();
  }

  /** An independent stream named `name` under the same seed. */
  fork(name: string): SeededRandom {
    return new SeededRandom(this.seed, this.stream ? `${this.stream}/${name}` : name);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return uniformFloat64(this.rng);
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer uniform in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** Standard normal (Box–Muller, one spare kept). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const s = this.spareNormal;
      this.spareNormal = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Student-t with `dof` degrees of freedom (heavy tails for small dof), unit scale. */
  studentT(dof = 3): number {
    let chi2 = 0;
    for (let i = 0; i < dof; i++) {
      const z = this.normal();
      chi2 += z * z;
    }
    return this.normal() / Math.sqrt(chi2 / dof);
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    let u = 0;
    while (u === 0) u = this.next();
    return -Math.log(u) * mean;
  }
}
