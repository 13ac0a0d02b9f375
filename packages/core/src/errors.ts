/** Base class of every error syncap throws on purpose. `code` is stable; the message is for people. */
export class SyncapError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
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

/** A camera could not be opened, started, or was lost. `cameraId` names it. */
export class DeviceError extends SyncapError {
  readonly cameraId: string;
  constructor(code: string, cameraId: string, message: string, options?: { cause?: unknown }) {
    super(code, `${cameraId}: ${message}`, options);
    this.cameraId = cameraId;
  }
}

/** Input data (a trace line, a message) that does not parse or validate. */
export class FormatError extends SyncapError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_FORMAT', message, options);
  }
}

/** The operation is not valid in the object's current state (start twice, nextGroup after close). */
export class StateError extends SyncapError {
  constructor(message: string) {
    super('E_STATE', message);
  }
}
