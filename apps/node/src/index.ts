/** @syncap/node — the `syncap-node` app (bin/syncap-node.js runs it). */
export { buildProgram, run } from './cli.js';
