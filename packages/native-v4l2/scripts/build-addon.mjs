// Builds the native addon with cmake-js during `npm ci`. A failed build does not fail the
// install (the rest of syncap works without cameras): the reason is saved next to the addon
// and importing @syncap/native-v4l2 throws an error that says what is missing.
// `--strict` (npm run build:addon) fails instead. `--asan` builds an AddressSanitizer variant into build/asan/
// (for the delivery stress run: load it with SYNCAP_V4L2_ADDON and LD_PRELOAD=libasan.so).
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const asan = process.argv.includes('--asan');
const strict = asan || process.argv.includes('--strict');
const out = asan ? 'build/asan' : 'build';
const reasonFile = join(root, out, 'addon-build-error.txt');
mkdirSync(join(root, out), { recursive: true });
rmSync(reasonFile, { force: true });

const missing = ['cmake', 'g++', 'make'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
if (missing.length > 0) fail(`missing build tools: ${missing.join(', ')} (Debian: apt-get install cmake g++ make)`);

const cmakeJs = join(root, 'node_modules', '.bin', 'cmake-js');
const local = spawnSync('sh', ['-c', `command -v "${cmakeJs}" || command -v cmake-js`], { encoding: 'utf8' }).stdout.trim();
const compile = ['compile', '--log-level', 'warn', '--out', out, ...(asan ? ['--CDSYNCAP_ASAN=ON'] : [])];
const r = spawnSync(local || 'npx', local ? compile : ['cmake-js', ...compile], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'pipe'],
  encoding: 'utf8',
});
if (r.status !== 0) fail(`cmake-js compile failed (exit ${r.status}):\n${(r.stderr ?? '').split('\n').slice(-30).join('\n')}`);
process.stderr.write(r.stderr ?? '');

function fail(reason) {
  writeFileSync(reasonFile, `${reason}\n`);
  console.error(`@syncap/native-v4l2: the addon was not built: ${reason}`);
  process.exit(strict ? 1 : 0);
}
