import type { Timers } from '@syncap/core';

/** Node's own timers, for components that run in real time. */
export const hostTimers: Timers = {
  setTimeout: (fn, delayMs) => setTimeout(fn, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
};
