export * from './host-clock.js';
export * from './seeded-random.js';
export * from './sim-camera.js';
export * from './sim-rig.js';
export * from './sim-scheduler.js';
export * from './trace-format.js';
export * from './trace-recorder.js';
export * from './trace-replay.js';
