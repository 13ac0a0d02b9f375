/**
 * The benches' command-line flags, parsed one way: `--name value` and `--switch`. A number
 * flag that is not a number stops the bench with its name, rather than measuring NaN.
 */
const args = process.argv.slice(2);

/** The value after `name`, or `fallback` when the flag is absent. */
export function stringFlag(name: string, fallback: string): string;
export function stringFlag(name: string): string | undefined;
export function stringFlag(name: string, fallback?: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
}

/** The number after `name`, or `fallback` when the flag is absent. */
export function numberFlag(name: string, fallback: number): number {
  const text = stringFlag(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new Error(`${name}: expected a number, got "${text}"`);
  return value;
}

/** Whether the switch `name` is given. */
export function hasFlag(name: string): boolean {
  return args.includes(name);
}
