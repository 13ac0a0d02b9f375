export * from './ptp-log-parser.js';
export * from './ptp-supervisor.js';
