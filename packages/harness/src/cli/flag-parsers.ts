import { InvalidArgumentError } from 'commander';

/** Commander parser for a non-negative integer flag; the error names the flag. */
export function nonNegativeInt(flag: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${flag} takes a non-negative integer, got "${value.slice(0, 40)}"`);
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`${flag} is too large: ${value.slice(0, 40)}`);
    return n;
  };
}

/** Commander parser for a positive integer flag. */
export function positiveInt(flag: string): (value: string) => number {
  const parse = nonNegativeInt(flag);
  return (value) => {
    const n = parse(value);
    if (n < 1) throw new InvalidArgumentError(`${flag} must be at least 1, got ${value}`);
    return n;
  };
}

/** Commander parser for a positive number flag (fractions allowed), at most `max` when given. */
export function positiveNumber(flag: string, max?: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${flag} takes a positive number, got "${value.slice(0, 40)}"`);
    if (max !== undefined && n > max) throw new InvalidArgumentError(`${flag} must be at most ${max}, got ${value}`);
    return n;
  };
}

/** Commander parser for a number ≥ 0 (fractions allowed), at most `max` when given. */
export function nonNegativeNumber(flag: string, max?: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${flag} takes a number ≥ 0, got "${value.slice(0, 40)}"`);
    if (max !== undefined && n > max) throw new InvalidArgumentError(`${flag} must be at most ${max}, got ${value}`);
    return n;
  };
}

/** Commander parser for a number in [0, 1]. */
export function probability(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1)
      throw new InvalidArgumentError(`${flag} takes a number from 0 to 1, got "${value.slice(0, 40)}"`);
    return n;
  };
}

/** Commander parser for a finite number (may be negative). */
export function finiteNumber(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${flag} takes a number, got "${value.slice(0, 40)}"`);
    return n;
  };
}

/** Commander parser for repeatable `<key>=<non-negative integer>` flags, collected into a record. */
export function keyedNonNegativeInt(flag: string): (value: string, previous: Record<string, number> | undefined) => Record<string, number> {
  return (value, previous) => {
    const m = /^([^=]+)=(\d+)$/.exec(value);
    if (!m) throw new InvalidArgumentError(`${flag} takes <camera>=<ns>, got "${value.slice(0, 40)}"`);
    return { ...previous, [m[1]!]: Number(m[2]) };
  };
}

/** Commander collector for a repeatable string flag. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
