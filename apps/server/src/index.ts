export { buildProgram, run } from './cli.js';
export { createLogger } from './logger.js';
export { realtimeClock, type ServerApp, type ServerAppOptions, startServerApp } from './server-app.js';
export { ServerMetrics } from './server-metrics.js';
