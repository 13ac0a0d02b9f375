/**
 * @syncap/server — the `syncap-server` app: the sync server behind one HTTP port with
 * the live dashboard, /metrics, /healthz and /api/status (`startServerApp`), and the
 * demo rig (`syncap-server demo`, what `npm start` runs).
 */
export { buildProgram, run } from './cli.js';
export { createLogger } from './logger.js';
export { type ServerApp, type ServerAppOptions, startServerApp } from './server-app.js';
export { ServerMetrics } from './server-metrics.js';
