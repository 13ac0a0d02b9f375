// Builds a package's native addon with cmake-js during `npm ci` (run from the package's
// directory: `node ../../scripts/build-addon.mjs [--strict] [--needs "<Debian packages>"]`).
// A failed build does not fail the install (the rest of syncap works without it): the reason
// is saved next to the addon and importing the package throws an error that says what is
// missing. `--strict` (npm run build:addon) fails instead. `--asan` builds an AddressSanitizer
// variant into build/asan/ (strict; load it with LD_PRELOAD=libasan.so, see test/vivid).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = process.cwd();
const name = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).name;
const asan = process.argv.includes('--asan');
const strict = asan || process.argv.includes('--strict');
const out = asan ? 'build/asan' : 'build';
const needsAt = process.argv.indexOf('--needs');
const needs = needsAt >= 0 ? process.argv[needsAt + 1] : '';
const reasonFile = join(root, out, 'addon-build-error.txt');
mkdirSync(join(root, out), { recursive: true });
rmSync(reasonFile, { force: true });

const missing = ['cmake', 'g++', 'make'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
if (missing.length > 0) fail(`missing build tools: ${missing.join(', ')} (Debian: apt-get install cmake g++ make${needs ? ` ${needs}` : ''})`);

const cmakeJs = join(root, 'node_modules', '.bin', 'cmake-js');
const local = spawnSync('sh', ['-c', `command -v "${cmakeJs}" || command -v cmake-js`], { encoding: 'utf8' }).stdout.trim();
const compile = ['compile', '--log-level', 'warn', '--out', out, ...(asan ? ['--CDSYNCAP_ASAN=ON'] : [])];
const r = spawnSync(local || 'npx', local ? compile : ['cmake-js', ...compile], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'pipe'],
  encoding: 'utf8',
});
if (r.status !== 0) {
  const tail = (r.stderr ?? '').split('\n').slice(-30).join('\n');
  fail(`cmake-js compile failed (exit ${r.status})${needs ? `; it needs ${needs} (apt-get install ${needs})` : ''}:\n${tail}`);
}
process.stderr.write(r.stderr ?? '');

function fail(reason) {
  writeFileSync(reasonFile, `${reason}\n`);
  console.error(`${name}: the addon was not built: ${reason}`);
  process.exit(strict ? 1 : 0);
}
