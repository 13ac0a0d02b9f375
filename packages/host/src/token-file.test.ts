import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTokenFile, tokenFromSources } from './token-file.js';

describe('readTokenFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'syncap-token-'));
  const file = (name: string, content: string, mode: number) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    chmodSync(path, mode);
    return path;
  };

  it('reads the token, trimmed', () => {
    expect(readTokenFile(file('ok', '  s3cret\n', 0o600))).toBe('s3cret');
    expect(readTokenFile(file('ro', 's3cret', 0o400))).toBe('s3cret');
  });

  it('refuses a file others may read, an empty one, a missing one and a huge one, saying what to do', () => {
    expect(() => readTokenFile(file('open', 's3cret', 0o644))).toThrow(/may be read by other users \(mode 644\): run chmod 600/);
    expect(() => readTokenFile(file('group', 's3cret', 0o640))).toThrow(/may be read by other users/);
    expect(() => readTokenFile(file('empty', ' \n', 0o600))).toThrow(/is empty: write the token into it/);
    expect(() => readTokenFile(join(dir, 'missing'))).toThrow(/cannot read the token file .*missing: ENOENT/);
    expect(() => readTokenFile(file('huge', 'x'.repeat(10_000), 0o600))).toThrow(/holds 10000 bytes/);
    expect(() => readTokenFile(dir)).toThrow(/is not a regular file/);
    try {
      readTokenFile(join(dir, 'missing'));
    } catch (error) {
      expect((error as { code: string }).code).toBe('E_CONFIG');
    }
  });
});

describe('tokenFromSources', () => {
  const names = { flag: '--token', file: '--token-file' };
  it('takes the flag, then the file, then the environment; refuses both flags and an empty token', () => {
    expect(tokenFromSources({ value: 'a', env: 'c' }, names)).toBe('a');
    expect(tokenFromSources({ env: 'c' }, names)).toBe('c');
    expect(tokenFromSources({}, names)).toBeUndefined();
    expect(() => tokenFromSources({ value: 'a', file: '/x' }, names)).toThrow('give --token or --token-file, not both');
    expect(() => tokenFromSources({ value: ' ' }, names)).toThrow(/--token is empty/);
    expect(() => tokenFromSources({ file: '/nonexistent/t' }, names)).toThrow(/cannot read the --token-file file \/nonexistent\/t: ENOENT/);
  });
});
