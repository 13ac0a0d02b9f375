export * from './seeded-random.js';
export * from './sim-scheduler.js';
export * from './host-clock.js';
export * from './sim-camera.js';
export * from './trace-format.js';
export * from './trace-recorder.js';
export * from './trace-replay.js';
export * from './sim-rig.js';
