import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

/**
 * The delivery stress run (delivery-stress.mjs) as vivid-suite tests: each scenario in a child
 * process, with the addon as built and with the AddressSanitizer build (build/asan, made by
 * `npm run build:addon:asan -w @syncap/native-v4l2`; .ci/run builds it). A crash, an ASan
 * report or a wrong result fails the test.
 */
const SCRIPT = fileURLToPath(new URL('./delivery-stress.mjs', import.meta.url));
const ASAN_ADDON = fileURLToPath(new URL('../../packages/native-v4l2/build/asan/Release/syncap_v4l2.node', import.meta.url));
const SCENARIOS: ReadonlyArray<readonly [scenario: string, count: number]> = [
  ['cycles', 14],
  ['workers', 4],
  ['exit', 1],
];

function libasan(): string | undefined {
  try {
    const p = execFileSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim();
    return p.startsWith('/') && existsSync(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

function asanUnavailableReason(): string | null {
  if (!existsSync(ASAN_ADDON)) return `no AddressSanitizer build at ${ASAN_ADDON} (npm run build:addon:asan -w @syncap/native-v4l2)`;
  if (!libasan()) return 'libasan.so not found (gcc -print-file-name=libasan.so)';
  return null;
}

function run(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', SCRIPT, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Registers the stress tests (call inside a describe). */
export function describeDeliveryStress(): void {
  const asanReason = asanUnavailableReason();
  if (asanReason) {
    if (process.env.CI === 'true') throw new Error(`delivery stress under ASan cannot run under CI: ${asanReason}`);
    console.warn(`delivery stress under ASan skipped: ${asanReason}`);
  }
  const builds = [
    { build: 'as built', env: {} as NodeJS.ProcessEnv, enabled: true },
    {
      build: 'AddressSanitizer',
      env: { LD_PRELOAD: libasan() ?? '', ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1', SYNCAP_V4L2_ADDON: ASAN_ADDON } as NodeJS.ProcessEnv,
      enabled: asanReason === null,
    },
  ];
  for (const { build, env, enabled } of builds) {
    for (const [scenario, count] of SCENARIOS) {
      it.runIf(enabled)(
        `${scenario} ×${count} survives with the addon ${build}: no crash, no sanitizer report, every camera accounted for`,
        async () => {
          const r = await run([scenario, String(count)], env);
          const report = `exit ${r.code} ${r.signal ?? ''}\n${r.stderr.slice(-4000)}`;
          expect(r.stderr, report).not.toMatch(/AddressSanitizer|FATAL ERROR|Segmentation fault/);
          expect(r.signal, report).toBeNull();
          expect(r.code, report).toBe(0);
          const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, number | string>;
          expect(result.scenario).toBe(scenario);
          if (scenario !== 'exit') expect(result.iterations).toBe(count);
          // The kept-subarray variants ran with their premises: the frames' own arrays were
          // collected (close() had only their array buffers to detach by), and so were cameras
          // dropped without close (their finalizers closed the devices under the subarrays).
          if (scenario === 'cycles') {
            expect(result.viewsCollected).toBeGreaterThan(0);
            expect(result.camerasCollected).toBeGreaterThan(0);
            // …and a device they left mapped opened again meanwhile.
            expect(result.reopenedWhileKept).toBeGreaterThan(0);
          }
        },
        600_000,
      );
    }
  }
}
