/**
 * The wire messages between a host and a session worker: one zod discriminated union on
 * `type`, validated at the boundary. Correlation: an `execute.id` is the `execution_id`
 * of every message it causes; an `input.id` comes back as `input_response.input_id`.
 * `seq` is stamped by the session layer (see `channel.ts`); raw frames may omit it.
 */
import { z } from "zod";
import { DisplaySchema, IntrospectionSchema, IntrospectSchema } from "./rich-messages.ts";

const seq = z.number().int().nonnegative().optional();
/** Binary data (MessagePack `bin`); any `Uint8Array`, whatever buffer backs it. */
const bytes = z.custom<Uint8Array>((value) => value instanceof Uint8Array, "expected binary data");
const id = z.string().min(1).max(256);

export const EXECUTION_MODES = [
  "simple_sync",
  "async_def",
  "top_level_await",
  "blocking_sync",
] as const;
export const ExecutionModeSchema = z.enum(EXECUTION_MODES);
export type ExecutionMode = z.infer<typeof ExecutionModeSchema>;

const names = z.array(z.string());

/** Host → worker: run one cell. */
export const ExecuteSchema = z.object({
  type: z.literal("execute"),
  seq,
  id,
  /** Prepared JavaScript (see `src/prepare`): TypeScript stripped, declarations rewritten. */
  code: z.string(),
  /** The detected (or forced) mode; it picks the executor. Default `simple_sync`. */
  mode: ExecutionModeSchema.optional(),
  /** The script's completion value is a promise of the cell's value (top-level await). */
  async: z.boolean().optional(),
  /** Top-level names the cell declares, names it uses, and used names it assigns. */
  declared: names.optional(),
  free: names.optional(),
  assigned: names.optional(),
  /** Straight-line code: the worker may run it without V8's per-run timeout watchdog. */
  bounded: z.boolean().optional(),
  /** Bindings created by `import` declarations, so checkpoints can re-import them. */
  imports: z
    .array(z.object({ name: z.string(), specifier: z.string(), imported: z.string() }))
    .optional(),
  timeout_ms: z.number().int().positive().optional(),
  /** Time waiting for `input()` answers does not count against `timeout_ms` (durable questions). */
  input_pauses_limit: z.boolean().optional(),
  /** Capability names granted to this cell; each is an async function in the namespace. */
  capabilities: z.array(z.string().min(1).max(256)).max(1024).optional(),
  /** Emit a `checkpoint` after the cell succeeds (default true). */
  checkpoint: z.boolean().optional(),
  /**
   * A warm-up cell (`Session.warmUp`): it takes the whole path of a cell, so that V8 has
   * compiled that path when the real cells come, but it is not one of the session's
   * cells: it gets no cell number, and `_`, imports and checkpoints stay as they were.
   */
  warm_up: z.boolean().optional(),
});

/** Worker → host: a piece of streamed output of a running cell. */
export const OutputSchema = z.object({
  type: z.literal("output"),
  seq,
  execution_id: id,
  stream: z.enum(["stdout", "stderr", "display"]),
  data: z.string(),
  /** Set on the marker that replaces output dropped over the flood limit. */
  truncated: z.boolean().optional(),
});

/** Worker → host: user code called `input(prompt)`. */
export const InputSchema = z.object({
  type: z.literal("input"),
  seq,
  id,
  execution_id: id,
  prompt: z.string(),
});

/** Host → worker: the answer to an `input`; `cancelled` wakes the waiter with an error. */
export const InputResponseSchema = z.object({
  type: z.literal("input_response"),
  seq,
  input_id: id,
  value: z.string(),
  cancelled: z.boolean().optional(),
  /** With `cancelled`: the reason's stable code (e.g. INPUT_TIMEOUT), set on the cell's error. */
  code: z.string().min(1).max(256).optional(),
});

/**
 * Worker → host: the running cell called capability `name`. `args` are MessagePack data
 * (the worker refuses functions and class instances before sending); the host answers
 * with a `capability_result` whose `call_id` is this `id`.
 */
export const CapabilityCallSchema = z.object({
  type: z.literal("capability_call"),
  seq,
  id,
  execution_id: id,
  name: z.string().min(1).max(256),
  args: z.array(z.unknown()),
});

/** Host → worker: what a capability call returned (`value`) or why it failed (`error`). */
export const CapabilityResultSchema = z.object({
  type: z.literal("capability_result"),
  seq,
  call_id: id,
  value: z.unknown().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});

export const UncapturedSchema = z.object({ name: z.string(), reason: z.string() });

/** An encoded namespace: a full checkpoint, or the changes since the previous one. */
export const CheckpointPayloadSchema = z.object({
  version: z.number().int().positive(),
  incremental: z.boolean(),
  data: bytes,
  /** Names deleted since the previous checkpoint (incremental only). */
  removed: z.array(z.string()),
  uncaptured: z.array(UncapturedSchema),
});
export type CheckpointPayload = z.infer<typeof CheckpointPayloadSchema>;

/**
 * Worker → host: a cell finished. `value` is present only when it could be encoded. The
 * checkpoint after the cell rides along (one frame, one wake-up); it is absent when
 * checkpoints are off or nothing changed, and `checkpoint_error` says why one failed.
 */
export const ResultSchema = z.object({
  type: z.literal("result"),
  seq,
  execution_id: id,
  value: z.unknown().optional(),
  has_value: z.boolean(),
  display: z.string(),
  mode: ExecutionModeSchema,
  /** Wall time of the cell inside the worker, in milliseconds. */
  execution_time: z.number().nonnegative(),
  checkpoint: CheckpointPayloadSchema.optional(),
  checkpoint_error: z.object({ code: z.string(), message: z.string() }).optional(),
});

/** Worker → host (or host → worker for protocol errors): something failed. */
export const ErrorSchema = z.object({
  type: z.literal("error"),
  seq,
  /** Absent for errors not tied to a request (protocol errors). */
  execution_id: id.optional(),
  code: z.string(),
  name: z.string(),
  message: z.string(),
  stack: z.string().optional(),
  line: z.number().int().optional(),
  column: z.number().int().optional(),
  mode: ExecutionModeSchema.optional(),
  /** A cell that failed keeps what it did before; its checkpoint rides along like a result's. */
  checkpoint: CheckpointPayloadSchema.optional(),
});

/** Worker → host: a checkpoint taken on request (`checkpoint_request`). */
export const CheckpointSchema = CheckpointPayloadSchema.extend({
  type: z.literal("checkpoint"),
  seq,
  /** The id of the `checkpoint_request` it answers. */
  execution_id: id,
});

/** Host → worker: send a full checkpoint now. */
export const CheckpointRequestSchema = z.object({
  type: z.literal("checkpoint_request"),
  seq,
  id,
});

/**
 * Host → worker: load a checkpoint into the namespace: a full checkpoint followed by the
 * increments taken after it, applied in order.
 */
export const RestoreSchema = z.object({
  type: z.literal("restore"),
  seq,
  id,
  version: z.number().int().positive(),
  chain: z.array(bytes).min(1),
});

/** Host → worker: drop the whole namespace (a pooled session handed to a new user). */
export const ResetSchema = z.object({
  type: z.literal("reset"),
  seq,
  id,
});

/** Worker → host: a restore (or reset) finished; names that could not be re-created are listed. */
export const RestoredSchema = z.object({
  type: z.literal("restored"),
  seq,
  id,
  names: z.array(z.string()),
  failed: z.array(UncapturedSchema),
});

/** Host → worker: stop the running cell. */
export const CancelSchema = z.object({
  type: z.literal("cancel"),
  seq,
  execution_id: id,
});

/** Either way: liveness, sent only when nothing else was sent for the interval. */
export const HeartbeatSchema = z.object({
  type: z.literal("heartbeat"),
  seq,
  /** Resident set size, bytes. */
  memory_usage: z.number().nonnegative(),
  cpu_percent: z.number().nonnegative(),
  /** Number of user names in the namespace. */
  namespace_size: z.number().int().nonnegative(),
  /** Set when this heartbeat answers a `test_request`. */
  test_id: z.string().optional(),
});

/** Worker → host: the worker is up and accepts requests. */
export const ReadySchema = z.object({
  type: z.literal("ready"),
  seq,
  pid: z.number().int().positive(),
  protocol_version: z.number().int().positive(),
  /**
   * The worker's main thread wrote this READY itself, before its service thread (which
   * owns the pipe from then on, and heartbeats) was up: what the host sends meanwhile
   * waits in the pipe, and the worker is watched for silence from its first heartbeat.
   */
  service_starting: z.literal(true).optional(),
});

/** Host → worker: finish and exit. */
export const ShutdownSchema = z.object({
  type: z.literal("shutdown"),
  seq,
  reason: z.string().optional(),
});

/** Session layer: please send again the frames numbered `from`..`to` (inclusive). */
export const ResendRequestSchema = z.object({
  type: z.literal("resend_request"),
  seq,
  from: z.number().int().nonnegative(),
  to: z.number().int().nonnegative(),
});

/** Session layer: the peer was silent; answer with a heartbeat carrying `test_id`. */
export const TestRequestSchema = z.object({
  type: z.literal("test_request"),
  seq,
  test_id: z.string(),
});

export const MessageSchema = z.discriminatedUnion("type", [
  ExecuteSchema,
  OutputSchema,
  DisplaySchema,
  InputSchema,
  InputResponseSchema,
  CapabilityCallSchema,
  CapabilityResultSchema,
  ResultSchema,
  ErrorSchema,
  CheckpointSchema,
  CheckpointRequestSchema,
  RestoreSchema,
  ResetSchema,
  RestoredSchema,
  CancelSchema,
  HeartbeatSchema,
  ReadySchema,
  ShutdownSchema,
  ResendRequestSchema,
  TestRequestSchema,
  IntrospectSchema,
  IntrospectionSchema,
]);

export type Message = z.infer<typeof MessageSchema>;
export type MessageType = Message["type"];
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;

export type Execute = MessageOf<"execute">;
export type Output = MessageOf<"output">;
export type Display = MessageOf<"display">;
export type Introspect = MessageOf<"introspect">;
export type Introspection = MessageOf<"introspection">;
export type Input = MessageOf<"input">;
export type InputResponse = MessageOf<"input_response">;
export type CapabilityCall = MessageOf<"capability_call">;
export type CapabilityResult = MessageOf<"capability_result">;
export type Result = MessageOf<"result">;
export type ErrorMessage = MessageOf<"error">;
export type Checkpoint = MessageOf<"checkpoint">;
export type Restore = MessageOf<"restore">;
export type Heartbeat = MessageOf<"heartbeat">;

/** Messages a host sends to a worker. */
export type HostMessage = MessageOf<
  | "execute"
  | "input_response"
  | "capability_result"
  | "checkpoint_request"
  | "restore"
  | "reset"
  | "cancel"
  | "shutdown"
  | "heartbeat"
  | "resend_request"
  | "test_request"
  | "error"
  | "introspect"
>;

/** Messages a worker sends to a host. */
export type WorkerMessage = MessageOf<
  | "output"
  | "display"
  | "introspection"
  | "input"
  | "capability_call"
  | "result"
  | "error"
  | "checkpoint"
  | "restored"
  | "heartbeat"
  | "ready"
  | "resend_request"
  | "test_request"
>;

export { isHostMessage, isWorkerMessage } from "./kinds.ts";
export { DisplaySchema, IntrospectionSchema, IntrospectSchema } from "./rich-messages.ts";
export { PROTOCOL_VERSION } from "./version.ts";
