export { buildProgram, main, run } from './cli.js';
