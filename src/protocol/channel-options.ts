/** What a `ProtocolChannel` (channel.ts) is configured with, emits and counts. */
import type { ProtocolError } from "../errors.ts";
import type { Clock } from "./clock.ts";
import type { MessageValidator } from "./frame-codec.ts";
import type { Heartbeat, Message } from "./messages.ts";
import type { HeartbeatFields } from "./process-stats.ts";

export interface ChannelOptions {
  /** Send a heartbeat after this long without sending anything (ms, default 1000; 0 turns heartbeats and dead-peer detection off). */
  heartbeatIntervalMs?: number;
  /**
   * Send this side's heartbeat in answer to each of the peer's, and on its own timer only
   * when it has sent nothing for 5 intervals (default false). An idle pair then wakes
   * each side once an interval to exchange them, not twice: for the side of many
   * (a worker), where each wake-up is a cold thread's.
   */
  answerHeartbeats?: boolean;
  /**
   * Heartbeat and silence timers fire on multiples of this many ms of the clock (default
   * 0: wherever they fall due), at most this much later: a host with many channels then
   * wakes once a grid step for all the heartbeats due in it, not once for each.
   */
  heartbeatGridMs?: number;
  /**
   * Extra silence allowed before a test request, and then before declaring the peer dead;
   * also how long a resend request may go unanswered before it is repeated (ms, default 3000).
   */
  graceMs?: number;
  /** Sent frames kept for resend requests (default 1024). */
  resendBufferFrames?: number;
  /** Bytes of sent frames kept for resend requests (default 64 MiB; the newest frame is always kept). */
  resendBufferBytes?: number;
  /** Frames received after a gap that may be held while waiting for it (default 4096). */
  maxHeldFrames?: number;
  /** Largest frame payload sent or accepted (default 64 MiB). */
  maxFrameBytes?: number;
  /**
   * A frame more than this far ahead of the next expected one is a violation, not a gap:
   * no peer keeps that much for resend (default 65536, 64 times the default resend buffer).
   */
  maxGapFrames?: number;
  /**
   * The byte stream neither loses, duplicates nor reorders (a pipe to a child process):
   * every frame must carry the next sequence number, and anything else (a gap, a
   * duplicate, an unsequenced frame) is a violation, since only a third party writing
   * into the stream can cause it; so is an unfinished frame that swallows the answer to a
   * test request (see `StallWatch`). Default false (gaps are repaired by resend).
   */
  orderedTransport?: boolean;
  /** The fields of outgoing heartbeats (default: this process's RSS and CPU, namespace size 0). */
  heartbeatFields?: () => HeartbeatFields;
  /** Time source (default the real clock); tests inject a fake one. */
  clock?: Clock;
  /** Checks each incoming message (default: the message schema, see channel.ts). */
  validate?: MessageValidator;
  /**
   * Frames someone else already wrote to the stream, numbered from 1 (a worker's main
   * thread writes its READY before its service thread has a channel): kept for resends,
   * and this channel's own frames are numbered after them.
   */
  sentBefore?: readonly Uint8Array[];
}

export interface ChannelEvents {
  /** An application message, in sequence order. */
  message: [message: Message];
  /**
   * A protocol problem. Fatal (then `close`, see `isFatalProtocolError`): a corrupt
   * stream, with the decoder's code, or a `PROTOCOL_VIOLATION`. Not fatal: a resend that
   * cannot be served, frames reported lost.
   */
  error: [error: ProtocolError];
  /** The peer did not answer a test request in time (`PROTOCOL_PEER_DEAD`). */
  dead: [error: ProtocolError];
  /** A heartbeat from the peer, with its memory, CPU and namespace size. */
  heartbeat: [heartbeat: Heartbeat];
  /** The channel closed (by `close`, the stream closing, or a corrupt stream). */
  close: [];
}

/** Counters, for tests and diagnostics. */
export interface ChannelStats {
  framesSent: number;
  framesReceived: number;
  delivered: number;
  duplicatesDropped: number;
  resendRequestsSent: number;
  framesResent: number;
  /** Frames received after a gap, waiting for it to be filled. */
  held: number;
}
