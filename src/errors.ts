/**
 * One error hierarchy for all of Capsule. Every error carries a stable string `code`
 * (match on it, not on the message or the class name), an optional `cause`, and
 * `retryable`: whether running the same operation again can help.
 */

export type ErrorCode =
  // protocol
  | "PROTOCOL_FRAME_TOO_LARGE"
  | "PROTOCOL_MALFORMED_FRAME"
  | "PROTOCOL_INVALID_MESSAGE"
  | "PROTOCOL_RESEND_UNAVAILABLE"
  | "PROTOCOL_PEER_DEAD"
  | "PROTOCOL_CLOSED"
  | "PROTOCOL_VIOLATION"
  // the FIX 4.2 example (examples/fix)
  | "FIX_INVALID_FIELD"
  | "FIX_LOGON_ATTEMPTS_EXHAUSTED"
  | "FIX_SESSION_ENDED"
  // sessions and pools
  | "SESSION_INVALID_STATE"
  | "SESSION_BUSY"
  | "POOL_CLOSED"
  | "POOL_ACQUIRE_TIMEOUT"
  | "WORKER_CRASHED"
  | "WORKER_START_FAILED"
  | "WORKER_BUILD_STALE"
  | "HOST_BUILD_STALE"
  | "RESPAWN_LIMIT"
  // execution of user code
  | "EXECUTION_ERROR"
  | "EXECUTION_SYNTAX_ERROR"
  | "EXECUTION_PROTECTED_NAME"
  | "EXECUTION_CANCELLED"
  | "LIMIT_TIMEOUT"
  | "LIMIT_MEMORY"
  | "LIMIT_RESOURCE"
  | "LIMIT_CELL_SIZE"
  | "INPUT_UNAVAILABLE"
  // capabilities and durable human input
  | "CAPABILITY_INVALID_NAME"
  | "CAPABILITY_DIVERGED"
  | "INPUT_TIMEOUT"
  | "INPUT_NOT_PENDING"
  | "INPUT_ALREADY_ANSWERED"
  // checkpoints
  | "CHECKPOINT_TOO_LARGE"
  | "CHECKPOINT_VERSION"
  | "CHECKPOINT_INVALID"
  | "CHECKPOINT_CORRUPT"
  // durable store
  | "STORE_LOCKED"
  | "STORE_WRITE_FAILED"
  | "STORE_CORRUPT"
  | "STORE_SDK_SHAPE"
  | "DURABLE_NOT_FOUND"
  | "DURABLE_INVALID_NAME"
  | "POISON_CELL"
  // Jupyter kernel
  | "KERNEL_CONNECTION_INVALID"
  | "KERNEL_INSTALL_FAILED"
  | "INPUT_NOT_ALLOWED"
  // worker groups (durable/groups)
  | "GROUP_REQUEST_INVALID"
  // completion and inspection (Session.introspect)
  | "INTROSPECT_TIMEOUT"
  // a part of Capsule the host loads on first use is missing or broken (the installation)
  | "HOST_LOAD_FAILED";

export interface CapsuleErrorOptions {
  cause?: unknown;
  retryable?: boolean;
}

export class CapsuleError extends Error {
  override name = "CapsuleError";
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: CapsuleErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/**
 * A frame or message that does not follow the wire protocol, or a dead peer.
 * `PROTOCOL_VIOLATION` is a peer that broke the protocol (a corrupt stream, a sequence
 * number that cannot be, a reply nobody asked for); its `cause` is the precise finding
 * (the decoder's own `PROTOCOL_MALFORMED_FRAME`, `PROTOCOL_FRAME_TOO_LARGE`, ...). Not
 * retryable: the same cell would break it the same way.
 */
export class ProtocolError extends CapsuleError {
  override name = "ProtocolError";
}

/** An operation asked of a session or pool in a state that does not allow it. */
export class SessionStateError extends CapsuleError {
  override name = "SessionStateError";
}

/** What user code threw, with the user's own error name, message and stack frames. */
export class ExecutionError extends CapsuleError {
  override name = "ExecutionError";
  /** The user's error class name, e.g. `TypeError`. */
  readonly errorName: string;
  /** Stack of user frames only (Capsule's own frames are removed). */
  readonly userStack: string;
  /** 1-based line and column in the cell, when the engine reported one (SyntaxError). */
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(
    fields: {
      errorName: string;
      message: string;
      stack?: string;
      line?: number;
      column?: number;
      /** A more specific code than the one the error name implies. */
      code?: "EXECUTION_PROTECTED_NAME";
    },
    options: CapsuleErrorOptions = {},
  ) {
    const where =
      fields.line === undefined ? "" : ` (line ${fields.line}, column ${fields.column ?? 0})`;
    super(
      fields.code ??
        (fields.errorName === "SyntaxError" ? "EXECUTION_SYNTAX_ERROR" : "EXECUTION_ERROR"),
      `${fields.errorName}: ${fields.message}${where}`,
      options,
    );
    this.errorName = fields.errorName;
    this.userStack = fields.stack ?? `${fields.errorName}: ${fields.message}`;
    this.line = fields.line;
    this.column = fields.column;
  }
}

/** The execution was cancelled through its `AbortSignal`. */
export class CancelledError extends CapsuleError {
  override name = "CancelledError";
  constructor(message = "execution cancelled", options: CapsuleErrorOptions = {}) {
    super("EXECUTION_CANCELLED", message, options);
  }
}

/** The execution ran past its time limit. */
export class TimeoutError extends CapsuleError {
  override name = "TimeoutError";
  constructor(message: string, options: CapsuleErrorOptions = {}) {
    super("LIMIT_TIMEOUT", message, options);
  }
}

/** The worker went over its memory limit. */
export class MemoryLimitError extends CapsuleError {
  override name = "MemoryLimitError";
  constructor(message: string, options: CapsuleErrorOptions = {}) {
    super("LIMIT_MEMORY", message, { retryable: false, ...options });
  }
}

/** The worker went over another resource limit (file descriptors, output). */
export class ResourceLimitError extends CapsuleError {
  override name = "ResourceLimitError";
  constructor(message: string, options: CapsuleErrorOptions = {}) {
    super("LIMIT_RESOURCE", message, options);
  }
}

/**
 * A cell larger than `limits.cellBytes`, refused before any parsing (nothing runs, and
 * the session's namespace is untouched).
 */
export class CellSizeLimitError extends CapsuleError {
  override name = "CellSizeLimitError";
  /** A lower bound of the cell's UTF-8 size: exact, or its length when that alone is over. */
  readonly bytes: number;
  readonly limitBytes: number;
  constructor(bytes: number, limitBytes: number, options: CapsuleErrorOptions = {}) {
    super(
      "LIMIT_CELL_SIZE",
      `the cell is over the size limit of ${limitBytes} bytes (limits.cellBytes): it has at least ${bytes}`,
      { retryable: false, ...options },
    );
    this.bytes = bytes;
    this.limitBytes = limitBytes;
  }
}

/** The worker process died (signal, exit, out of memory) while work was pending. */
export class WorkerCrashedError extends CapsuleError {
  override name = "WorkerCrashedError";
  readonly exitCode: number | null;
  readonly signal: string | null;
  constructor(
    message: string,
    fields: { exitCode?: number | null; signal?: string | null } = {},
    options: CapsuleErrorOptions = {},
  ) {
    super("WORKER_CRASHED", message, { retryable: true, ...options });
    this.exitCode = fields.exitCode ?? null;
    this.signal = fields.signal ?? null;
  }
}

/**
 * The worker's JavaScript build (workers/dist) is missing or older than its TypeScript
 * sources; `npm run build` fixes it. Never retryable: the same spawn fails the same way.
 */
export class WorkerBuildError extends CapsuleError {
  override name = "WorkerBuildError";
  constructor(message: string, options: CapsuleErrorOptions = {}) {
    super("WORKER_BUILD_STALE", message, { retryable: false, ...options });
  }
}

/**
 * The JavaScript build of Capsule's package entries (`capsule`, `capsule/durable`) is
 * older than its sources: `npm run build` makes a new one.
 */
export class HostBuildError extends CapsuleError {
  override name = "HostBuildError";
  constructor(message: string, options: CapsuleErrorOptions = {}) {
    super("HOST_BUILD_STALE", message, { retryable: false, ...options });
  }
}

/** A checkpoint that is too large, of an unknown version, or malformed. */
export class CheckpointError extends CapsuleError {
  override name = "CheckpointError";
}

/** The embedded durable store failed or is owned by another process. */
export class StoreError extends CapsuleError {
  override name = "StoreError";
}

/**
 * A capability that cannot be granted (a bad or protected name), or a durable cell that
 * diverged from its record: on a re-run it called another capability at the same index.
 */
export class CapabilityError extends CapsuleError {
  override name = "CapabilityError";
}

/**
 * Durable human input: a question that timed out (`INPUT_TIMEOUT`), an answer to an id
 * that is no pending question (`INPUT_NOT_PENDING`), or a second answer
 * (`INPUT_ALREADY_ANSWERED`: the first one stands).
 */
export class InputError extends CapsuleError {
  override name = "InputError";
}

/** The Jupyter kernel cannot start (a bad connection file) or its kernelspec cannot be written. */
export class KernelError extends CapsuleError {
  override name = "KernelError";
}

/** A second process tried to open a store that another live process owns. */
export class StoreLockedError extends StoreError {
  override name = "StoreLockedError";
  readonly ownerPid: number;
  constructor(dir: string, ownerPid: number) {
    super("STORE_LOCKED", `store ${dir} is locked by running process ${ownerPid}`);
    this.ownerPid = ownerPid;
  }
}

/** Where a poison cell is: its durable session, its call index there, its source. */
export interface PoisonCellFields {
  session: string;
  /** 0-based index of the execute call in its session. */
  step: number;
  /** The start of the cell's source (at most 80 characters). */
  source: string;
  /** How many attempts of the step ended with the orchestrating process gone. */
  kills: number;
}

/**
 * A durable step whose attempts killed the orchestrating process too many times (e.g.
 * `process.kill(process.ppid)`): recorded as failed instead of being run again forever.
 */
export class PoisonCellError extends CapsuleError {
  override name = "PoisonCellError";
  readonly session: string;
  readonly step: number;
  readonly source: string;
  readonly kills: number;
  constructor(fields: PoisonCellFields, options: CapsuleErrorOptions = {}) {
    super(
      "POISON_CELL",
      `cell ${fields.step} of session "${fields.session}" killed its orchestrating process ${fields.kills} times; not running it again: ${JSON.stringify(fields.source)}`,
      options,
    );
    this.session = fields.session;
    this.step = fields.step;
    this.source = fields.source;
    this.kills = fields.kills;
  }
}

export function isCapsuleError(error: unknown): error is CapsuleError {
  return error instanceof CapsuleError;
}
