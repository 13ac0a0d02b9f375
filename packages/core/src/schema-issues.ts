import type { z } from 'zod';

/**
 * One line per schema issue, naming where it is (`cameras[1].fps`) and what is allowed,
 * prefixed with the source (a file, a flag): the form every config error takes.
 */
export function describeIssues(error: z.ZodError, source: string, max = 5): string {
  return error.issues
    .slice(0, max)
    .map((i) => `${source}: ${keyPath(i.path) || '(top level)'}: ${i.message}`)
    .join('\n');
}

/** `cameras[1].fps` from a zod issue path. */
export function keyPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${String(p)}` : String(p)), '');
}
