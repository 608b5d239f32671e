/** The wire protocol: framing, message schemas and the session-layer channel. */
export type { ByteStream } from "./byte-stream.ts";
export { joinStreams } from "./byte-stream.ts";
export type {
  ChannelEvents,
  ChannelOptions,
  ChannelStats,
} from "./channel.ts";
export { ProtocolChannel } from "./channel.ts";
export type { Clock, TimerHandle } from "./clock.ts";
export { systemClock } from "./clock.ts";
export type { FrameDecoderOptions } from "./frame.ts";
export {
  DEFAULT_MAX_FRAME_BYTES,
  decodePayload,
  encodeFrame,
  encodeMessage,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  validateMessage,
} from "./frame.ts";
export * from "./messages.ts";
export type { HeartbeatFields } from "./process-stats.ts";
export { processStatsSampler } from "./process-stats.ts";
