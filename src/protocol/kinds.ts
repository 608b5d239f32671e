/**
 * Which message kinds each side may send, and the envelope check a worker applies to its
 * host's frames. Free of zod on purpose: the worker's service thread imports this module
 * and not the schemas (messages.ts), which cost it ~50 ms of start and several MiB.
 */
import { ProtocolError } from "../errors.ts";
import type { HostMessage, Message, MessageType, WorkerMessage } from "./messages.ts";

const HOST_KINDS: ReadonlySet<MessageType> = new Set<HostMessage["type"]>([
  "execute",
  "input_response",
  "capability_result",
  "checkpoint_request",
  "restore",
  "reset",
  "cancel",
  "shutdown",
  "heartbeat",
  "resend_request",
  "test_request",
  "error",
  "introspect",
]);

const WORKER_KINDS: ReadonlySet<MessageType> = new Set<WorkerMessage["type"]>([
  "output",
  "display",
  "introspection",
  "input",
  "capability_call",
  "result",
  "error",
  "checkpoint",
  "restored",
  "heartbeat",
  "ready",
  "resend_request",
  "test_request",
]);

/** Every message kind either side may send. */
const MESSAGE_TYPES: ReadonlySet<MessageType> = new Set([...HOST_KINDS, ...WORKER_KINDS]);

/** True for the kinds a host may send; a worker rejects anything else. */
export function isHostMessage(message: Message): message is HostMessage {
  return HOST_KINDS.has(message.type);
}

/** True for the kinds a worker may send; a host rejects anything else. */
export function isWorkerMessage(message: Message): message is WorkerMessage {
  return WORKER_KINDS.has(message.type);
}

/**
 * The check a worker makes of what its host sends: an object of a known kind with a
 * sequence number where one is due. Not the schema: the host is the trusted side (it made
 * the worker and validates everything the worker sends back, see frame.ts), so a second
 * full parse inside the worker would only repeat the host's own encoding. Throws
 * `PROTOCOL_INVALID_MESSAGE` for anything else, like the schema does.
 */
export function trustedPeerMessage(value: unknown): Message {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError("PROTOCOL_INVALID_MESSAGE", "invalid untyped message: not a map");
  }
  const { type, seq } = value as { type?: unknown; seq?: unknown };
  if (typeof type !== "string" || !MESSAGE_TYPES.has(type as MessageType)) {
    const shown = typeof type === "string" ? JSON.stringify(type.slice(0, 64)) : "untyped";
    throw new ProtocolError("PROTOCOL_INVALID_MESSAGE", `invalid ${shown} message: unknown type`);
  }
  if (seq !== undefined && !(Number.isSafeInteger(seq) && (seq as number) >= 0)) {
    throw new ProtocolError(
      "PROTOCOL_INVALID_MESSAGE",
      `invalid ${JSON.stringify(type)} message: seq must be a non-negative integer`,
    );
  }
  return value as Message;
}
