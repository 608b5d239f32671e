/**
 * The session-layer channel a host uses: `ChannelCore` (channel-core.ts, which says what
 * the channel does) with every incoming message checked against the message schema,
 * since the peer is a worker running user code.
 */
import type { ByteStream } from "./byte-stream.ts";
import { ChannelCore } from "./channel-core.ts";
import type { ChannelOptions } from "./channel-options.ts";
import { validateMessage } from "./frame.ts";

export type { ChannelEvents, ChannelOptions, ChannelStats } from "./channel-options.ts";
export { isFatalProtocolError } from "./session-layer.ts";

export class ProtocolChannel extends ChannelCore {
  constructor(stream: ByteStream, options: ChannelOptions = {}) {
    super(stream, { ...options, validate: options.validate ?? validateMessage });
  }
}
