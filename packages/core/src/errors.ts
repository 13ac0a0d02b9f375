/**
 * Every error syncap throws on purpose carries one of these codes, one code per
 * condition in every layer (core, sim, native, net, apps). The description says what
 * the condition is; messages say what was wrong in the case at hand and what to do.
 */
export const ERROR_CODES = {
  E_CONFIG: 'bad configuration or arguments (an option, a config key, a flag)',
  E_STATE: 'the operation is not valid in the current state (start twice, read after release)',
  E_PARSE: 'input data does not parse or validate (a trace line, a recording, a file)',
  E_NO_DEVICE: 'the device does not exist (no such node, or it vanished before open)',
  E_DEVICE_LOST: 'the device disappeared while in use (unplugged, driver gone)',
  E_DEVICE_BUSY: 'the device is in use by another process, or by another camera of this one (the message says which)',
  E_PERMISSION: 'not allowed to open or configure the device',
  E_NOT_CAPTURE: 'the node is not a video capture device with streaming I/O',
  E_UNSUPPORTED_FORMAT: 'the device does not offer the pixel format, size or rate asked for',
  E_BUFFERS: 'the driver could not allocate or map capture buffers',
  E_STREAMON: 'the driver refused to start streaming (VIDIOC_STREAMON)',
  E_STREAM: 'streaming broke (QBUF, DQBUF or a driver error while streaming)',
  E_STOPPED: 'stopped before streaming began',
  E_CONTROL: 'a control does not exist, or rejected the value',
  E_DEVICE: 'any other device failure (the message names the ioctl and errno)',
  E_UNSUPPORTED: 'the feature is not available in this build or on this host',
  E_NATIVE_UNAVAILABLE: 'the native addon is not built or cannot be loaded',
  E_PROTOCOL: 'a message violates the sync protocol (schema, size, order)',
  E_UNAUTHORIZED: 'a peer presented a bad token',
  E_UNREACHABLE: 'a peer cannot be reached (connection refused or timed out, no route, a name that does not resolve)',
  E_PTP_MISSING: 'ptp4l, phc2sys or pmc is not installed',
  E_PTP_INTERFACE: 'linuxptp cannot use the network interface',
  E_PTP_SPAWN: 'a linuxptp daemon could not be started',
  E_PTP_PMC: 'pmc could not query a running ptp4l',
  E_IO: 'a file or stream could not be read or written',
  E_DISK_FULL: 'no space left on the device being written',
  E_EXISTS: 'the file to create exists already',
} as const;

/** One code per condition (see ERROR_CODES). */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Whether a string is one of the error codes. */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/** Base class of every error syncap throws on purpose. `code` is stable; the message is for people. */
export class SyncapError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Bad configuration or arguments: says which option and what is allowed. */
export class ConfigError extends SyncapError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_CONFIG', message, options);
  }
}

/**
 * A camera could not be opened, started or configured, or was lost. `cameraId` names it;
 * `errno` is the OS error's name (ENOENT, EBUSY, …) when one caused it.
 */
export class DeviceError extends SyncapError {
  readonly cameraId: string;
  readonly errno: string | undefined;
  constructor(code: ErrorCode, cameraId: string, message: string, options?: { cause?: unknown; errno?: string }) {
    super(code, `${cameraId}: ${message}`, options);
    this.cameraId = cameraId;
    this.errno = options?.errno;
  }
}

/** Input data (a trace line, a recording) that does not parse or validate. */
export class ParseError extends SyncapError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_PARSE', message, options);
  }
}

/** The operation is not valid in the object's current state (start twice, nextGroup after close). */
export class StateError extends SyncapError {
  constructor(message: string) {
    super('E_STATE', message);
  }
}

/**
 * What crosses a package boundary is a SyncapError: wraps anything else (a library's
 * error, a thrown string) with `code`, keeping it as the cause.
 */
export function toSyncapError(error: unknown, code: ErrorCode, context?: string): SyncapError {
  if (error instanceof SyncapError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SyncapError(code, context ? `${context}: ${message}` : message, { cause: error });
}

/** The message of anything thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
