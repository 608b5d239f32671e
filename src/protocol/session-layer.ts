/**
 * How the channel (channel.ts) classifies what it receives: which frames belong to the
 * session layer (handled on arrival, even after a gap) and which errors are fatal.
 */
import type { ProtocolError } from "../errors.ts";
import type { Message } from "./messages.ts";

/** True for the errors after which the channel closes: the peer's stream cannot be trusted. */
export function isFatalProtocolError(error: ProtocolError): boolean {
  switch (error.code) {
    case "PROTOCOL_MALFORMED_FRAME":
    case "PROTOCOL_FRAME_TOO_LARGE":
    case "PROTOCOL_INVALID_MESSAGE":
    case "PROTOCOL_VIOLATION":
      return true;
    default:
      return false;
  }
}

export function isSessionLayer(message: Message): boolean {
  switch (message.type) {
    case "heartbeat":
    case "test_request":
    case "resend_request":
      return true;
    case "error":
      return message.code === "PROTOCOL_RESEND_UNAVAILABLE" && message.execution_id === undefined;
    default:
      return false;
  }
}
