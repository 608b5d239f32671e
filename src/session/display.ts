/** A worker's `display` message as an output chunk (see RichOutput). */
import type { Display } from "../protocol/messages.ts";
import type { OutputChunk } from "./options.ts";

export function displayChunk(message: Display): OutputChunk {
  const plain = message.data["text/plain"];
  return {
    stream: "display",
    // Consumers that know only text (the CLI) print this; a clear prints nothing.
    data: typeof plain === "string" ? plain : "",
    rich: {
      action: message.action,
      data: message.data,
      ...(message.metadata === undefined ? {} : { metadata: message.metadata }),
      ...(message.display_id === undefined ? {} : { displayId: message.display_id }),
      ...(message.wait === undefined ? {} : { wait: message.wait }),
    },
  };
}
