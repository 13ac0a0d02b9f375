/**
 * @syncap/core/internal — building blocks the other syncap packages share (a FIFO, the
 * policy base class, option checks, config-error formatting). Not part of the public
 * API: they may change with any release.
 */

export { CaptureStats } from './capture-stats.js';
export { checkNonNegative, checkPositiveInt, GroupIdCounter, PolicyBase } from './grouping-policy.js';
export { RingQueue } from './ring-queue.js';
export { describeIssues, keyPath } from './schema-issues.js';
