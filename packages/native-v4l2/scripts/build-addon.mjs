// Builds the native addon with cmake-js during `npm ci`. A failed build does not fail the
// install (the rest of syncap works without cameras): the reason is saved next to the addon
// and importing @syncap/native-v4l2 throws an error that says what is missing.
// `--strict` (npm run build:addon) fails instead.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const strict = process.argv.includes('--strict');
const reasonFile = join(root, 'build', 'addon-build-error.txt');
mkdirSync(join(root, 'build'), { recursive: true });
rmSync(reasonFile, { force: true });

const missing = ['cmake', 'g++', 'make'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
if (missing.length > 0) fail(`missing build tools: ${missing.join(', ')} (Debian: apt-get install cmake g++ make)`);

const cmakeJs = join(root, 'node_modules', '.bin', 'cmake-js');
const local = spawnSync('sh', ['-c', `command -v "${cmakeJs}" || command -v cmake-js`], { encoding: 'utf8' }).stdout.trim();
const r = spawnSync(local || 'npx', local ? ['compile', '--log-level', 'warn'] : ['cmake-js', 'compile', '--log-level', 'warn'], {
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
