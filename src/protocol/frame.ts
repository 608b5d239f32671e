/**
 * The host's framing: frame-codec.ts with the message schema as its validator, so every
 * frame a worker sends is checked in full (a value that is not a valid message makes the
 * stream corrupt, like any other bad frame; see frame-codec.ts for the error policy).
 */
import type { Decoder } from "@msgpack/msgpack";
import type { z } from "zod";
import { ProtocolError } from "../errors.ts";
import {
  FrameDecoder as CheckedFrameDecoder,
  type FrameDecoderOptions as CheckedOptions,
  decodeValidated,
} from "./frame-codec.ts";
import { type Message, MessageSchema } from "./messages.ts";

export {
  DEFAULT_MAX_FRAME_BYTES,
  encodeFrame,
  encodeMessage,
  FRAME_HEADER_BYTES,
  type MessageValidator,
} from "./frame-codec.ts";

export interface FrameDecoderOptions extends Partial<CheckedOptions> {}

/** A frame decoder that validates against the message schema unless told otherwise. */
export class FrameDecoder extends CheckedFrameDecoder {
  constructor(options: FrameDecoderOptions = {}) {
    super({ ...options, validate: options.validate ?? validateMessage });
  }
}

/**
 * Decodes and validates one MessagePack payload (no length prefix). Throws
 * `PROTOCOL_MALFORMED_FRAME` for bytes that are not one MessagePack value and
 * `PROTOCOL_INVALID_MESSAGE` for a value that is not a valid message.
 * Binary fields of the result are views into `payload`, not copies.
 */
export function decodePayload(payload: Uint8Array, decoder?: Decoder): Message {
  return decodeValidated(payload, validateMessage, decoder);
}

/** Validates a decoded value against the message schema. */
export function validateMessage(value: unknown): Message {
  const parsed = MessageSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ProtocolError(
    "PROTOCOL_INVALID_MESSAGE",
    `invalid ${describeType(value)} message: ${summarizeIssues(parsed.error)}`,
    { cause: parsed.error },
  );
}

function describeType(value: unknown): string {
  if (typeof value === "object" && value !== null && "type" in value) {
    const type = (value as { type: unknown }).type;
    if (typeof type === "string") return JSON.stringify(type.slice(0, 64));
  }
  return "untyped";
}

function summarizeIssues(error: z.ZodError): string {
  const shown = error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.length === 0 ? "(root)" : issue.path.map(String).join(".");
    return `${path}: ${issue.message}`;
  });
  const more = error.issues.length - shown.length;
  return more > 0 ? `${shown.join("; ")}; and ${more} more` : shown.join("; ");
}
