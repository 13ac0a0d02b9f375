import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ConfigError } from '@syncap/core';

/** Longest token file read, bytes: a token is a line, not a document. */
const MAX_TOKEN_FILE_BYTES = 4096;

/**
 * Reads a token from a file (so that it never shows in `ps` or the shell history): the
 * content trimmed of surrounding whitespace. Refuses, with a ConfigError naming the file and
 * the fix, a file that cannot be read, is empty, is larger than a token, or that group or
 * others may read or write (a secret readable by every user is no secret).
 */
export function readTokenFile(path: string, what = 'token file'): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new ConfigError(`cannot read the ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new ConfigError(`the ${what} ${path} is not a regular file`);
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0)
      throw new ConfigError(`the ${what} ${path} may be read by other users (mode ${(stat.mode & 0o777).toString(8).padStart(3, '0')}): run chmod 600 ${path}`);
    if (stat.size > MAX_TOKEN_FILE_BYTES) throw new ConfigError(`the ${what} ${path} holds ${stat.size} bytes: a token is at most ${MAX_TOKEN_FILE_BYTES}`);
    const buffer = Buffer.alloc(MAX_TOKEN_FILE_BYTES + 1);
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    const token = buffer.subarray(0, n).toString('utf8').trim();
    if (token === '') throw new ConfigError(`the ${what} ${path} is empty: write the token into it`);
    return token;
  } finally {
    closeSync(fd);
  }
}

/**
 * A token from its flag, its file flag or its environment variable, in that order; both
 * flags at once, or an empty token, is a ConfigError. Undefined when none is given.
 */
export function tokenFromSources(
  given: { readonly value?: string; readonly file?: string; readonly env?: string },
  names: { readonly flag: string; readonly file: string },
): string | undefined {
  if (given.value !== undefined && given.file !== undefined) throw new ConfigError(`give ${names.flag} or ${names.file}, not both`);
  if (given.file !== undefined) return readTokenFile(given.file, `${names.file} file`);
  const token = given.value ?? given.env;
  if (token !== undefined && token.trim() === '') throw new ConfigError(`${names.flag} is empty: give the token (or ${names.file})`);
  return token;
}
