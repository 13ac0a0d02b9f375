#!/usr/bin/env node
// Entry point of the `syncap-server` CLI. The TypeScript is compiled by `npm ci` (the root `prepare` script).
let cli;
try {
  cli = await import('../dist/cli.js');
} catch (error) {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('cli.js')) {
    console.error('syncap-server: not built yet. Run `npm ci` (or `npm run build`) at the repository root.');
    process.exit(1);
  }
  throw error;
}
await cli.run(process.argv.slice(2));
