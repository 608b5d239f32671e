/**
 * The session layer over a duplex byte stream (a child process pipe, a socket, an
 * in-memory pair). It frames and validates messages and adds, FIX-engine style:
 *
 * - per-direction sequence numbers, stamped into each outgoing message's `seq`
 *   (starting at 1; session-layer frames are numbered too, so a heartbeat also reveals
 *   a trailing gap);
 * - gap detection: a frame after a gap is held, the gap is asked for once with a
 *   `resend_request`, and messages are delivered in order when it is filled; duplicates
 *   are dropped and counted; the sender answers from a bounded buffer, or with an
 *   `error` `PROTOCOL_RESEND_UNAVAILABLE` when the frames are gone (resend is all or
 *   nothing; the receiver then reports the loss and skips the gap);
 * - idle-only heartbeats, test requests to a silent peer and a `dead` event when one
 *   goes unanswered (see `liveness.ts`).
 *
 * Session-layer messages (`heartbeat`, `test_request`, `resend_request`, and the
 * resend-unavailable `error`) are handled here, on arrival, even when they arrive after
 * a gap (two peers that both wait for a resend must not deadlock). Everything else is
 * emitted as `message`, in sequence order. A frame without `seq` (from a peer that does
 * not sequence) is delivered as it arrives.
 *
 * A corrupt incoming stream (see `frame-codec.ts`) is fatal: `error` with the decoder's
 * `ProtocolError`, then the channel closes. So is a peer that breaks the session layer
 * (`PROTOCOL_VIOLATION`): a sequence number further ahead than any gap could honestly be,
 * a resend request for frames never sent, an answer to a test request never sent, and, on
 * an `orderedTransport` (a pipe, which neither loses nor reorders), any frame out of
 * sequence and bytes that keep arriving without ever completing a frame. Like any Node
 * emitter, the channel throws an `error` that has no listener, so attach one.
 */
import { EventEmitter } from "node:events";
import { ProtocolError } from "../errors.ts";
import type { ByteStream } from "./byte-stream.ts";
import type { ChannelEvents, ChannelOptions, ChannelStats } from "./channel-options.ts";
import { type Clock, systemClock } from "./clock.ts";
import {
  DEFAULT_MAX_FRAME_BYTES,
  encodeFrame,
  FrameDecoder,
  type MessageValidator,
} from "./frame-codec.ts";
import { Liveness, StallWatch } from "./liveness.ts";
import type { Heartbeat, Message } from "./messages.ts";
import { type HeartbeatFields, processStatsSampler } from "./process-stats.ts";
import { ReceiveWindow } from "./receive-window.ts";
import { ResendBuffer } from "./resend-buffer.ts";
import { isSessionLayer } from "./session-layer.ts";

/**
 * The channel with the check of incoming messages left to its maker: channel.ts's
 * `ProtocolChannel` checks them against the schema (a host, whose peer is untrusted); a
 * worker's service thread passes `trustedPeerMessage` (kinds.ts) and so loads no schema.
 */
export class ChannelCore extends EventEmitter<ChannelEvents> {
  readonly #stream: ByteStream;
  readonly #decoder: FrameDecoder;
  readonly #maxFrameBytes: number;
  readonly #maxHeldFrames: number;
  readonly #ordered: boolean;
  readonly #sent: ResendBuffer;
  readonly #window: ReceiveWindow<Message>;
  readonly #liveness: Liveness | undefined;
  readonly #stall: StallWatch | undefined;
  readonly #heartbeatFields: () => HeartbeatFields;
  readonly #clock: Clock;
  readonly #resendRetryMs: number;
  /** When the open gap was last asked for. */
  #gapRequestedAt = 0;
  #nextSeq = 1;
  #nextTestId = 1;
  /** When the peer's latest bytes arrived, and when our latest test request went out. */
  #lastDataAt = Number.NEGATIVE_INFINITY;
  #testRequestedAt = Number.POSITIVE_INFINITY;
  #closed = false;
  #lastPeerHeartbeat: Heartbeat | undefined;
  /** Messages ready for delivery; a queue so that re-entrant arrivals keep order. */
  #inbox: Message[] = [];
  #delivering = false;
  readonly #counters = {
    framesSent: 0,
    framesReceived: 0,
    delivered: 0,
    duplicatesDropped: 0,
    resendRequestsSent: 0,
    framesResent: 0,
  };

  constructor(stream: ByteStream, options: ChannelOptions & { validate: MessageValidator }) {
    super();
    this.#stream = stream;
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#decoder = new FrameDecoder({
      maxFrameBytes: this.#maxFrameBytes,
      validate: options.validate,
    });
    this.#sent = new ResendBuffer(
      options.resendBufferFrames ?? 1024,
      options.resendBufferBytes ?? 64 * 1024 * 1024,
    );
    for (const frame of options.sentBefore ?? []) this.#sent.add(this.#nextSeq++, frame);
    this.#counters.framesSent = this.#nextSeq - 1;
    this.#maxHeldFrames = options.maxHeldFrames ?? 4096;
    this.#ordered = options.orderedTransport ?? false;
    this.#window = new ReceiveWindow({
      ordered: this.#ordered,
      maxGapFrames: options.maxGapFrames ?? 65_536,
    });
    this.#heartbeatFields = options.heartbeatFields ?? processStatsSampler();
    this.#clock = options.clock ?? systemClock;
    this.#resendRetryMs = options.graceMs ?? 3000;
    const interval = options.heartbeatIntervalMs ?? 1000;
    if (interval > 0) {
      this.#liveness = new Liveness(
        this.#clock,
        interval,
        this.#resendRetryMs,
        {
          sendHeartbeat: () => this.send({ type: "heartbeat", ...this.#heartbeatFields() }),
          sendTestRequest: () => this.#sendTestRequest(),
          declareDead: (silentForMs) => this.#declareDead(silentForMs),
        },
        { answerPeer: options.answerHeartbeats ?? false, gridMs: options.heartbeatGridMs ?? 0 },
      );
    }
    // Only where the transport is a pipe: there, bytes that complete no frame can only be
    // a forged length; elsewhere a slow link could look the same.
    if (interval > 0 && this.#ordered) {
      this.#stall = new StallWatch(
        this.#clock,
        interval + this.#resendRetryMs,
        this.#resendRetryMs,
        {
          partialBytes: () => this.#decoder.bufferedBytes,
          framesReceived: () => this.#counters.framesReceived,
          lastDataAt: () => this.#lastDataAt,
          sendTestRequest: () => this.#sendTestRequest(),
          declareStalled: (partial, forMs) => this.#stalled(partial, forMs),
        },
      );
    }
    stream.on("data", this.#onData);
    stream.on("close", this.#onStreamClose);
    stream.on("error", this.#onStreamError);
    this.#liveness?.start();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The latest heartbeat received from the peer. */
  get lastPeerHeartbeat(): Heartbeat | undefined {
    return this.#lastPeerHeartbeat;
  }

  get stats(): ChannelStats {
    return { ...this.#counters, held: this.#window.heldCount };
  }

  /**
   * Sends a message (its `seq` is replaced by the next sequence number, which is
   * returned; the caller's object is not modified). Throws `PROTOCOL_CLOSED` after
   * close, and the errors of `encodeFrame` for a message that cannot be encoded (no
   * sequence number is used up then).
   */
  send(message: Message): number {
    if (this.#closed) {
      throw new ProtocolError("PROTOCOL_CLOSED", `cannot send "${message.type}": channel closed`);
    }
    const seq = this.#nextSeq;
    const frame = encodeFrame({ ...message, seq }, this.#maxFrameBytes);
    this.#nextSeq++;
    this.#sent.add(seq, frame);
    this.#counters.framesSent++;
    this.#liveness?.noteSent();
    this.#stream.write(frame);
    return seq;
  }

  /** Pauses (false) or resumes (true) dead-peer detection; heartbeats keep going out. */
  watchPeer(enabled: boolean): void {
    this.#liveness?.watchPeer(enabled);
  }

  /** Stops timers, ends the outgoing stream and emits `close`. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#liveness?.stop();
    this.#stall?.stop();
    this.#stream.off("data", this.#onData);
    this.#stream.off("close", this.#onStreamClose);
    this.#stream.off("error", this.#onStreamError);
    this.#stream.end();
    this.emit("close");
  }

  readonly #onData = (chunk: Uint8Array): void => {
    if (this.#closed) return;
    this.#lastDataAt = this.#clock.now();
    try {
      this.#decoder.feed(chunk, this.#onFrame);
      this.#stall?.noteData();
    } catch (error) {
      if (error instanceof ProtocolError && error === this.#decoder.failure) {
        this.#fail(error);
        return;
      }
      throw error;
    }
  };

  /** A fatal problem with what the peer sent: report it, then close. */
  #fail(error: ProtocolError): void {
    try {
      this.emit("error", error);
    } finally {
      this.close();
    }
  }

  #violation(message: string): void {
    this.#fail(new ProtocolError("PROTOCOL_VIOLATION", message));
  }

  #sendTestRequest(): void {
    if (this.#closed) return;
    this.#testRequestedAt = this.#clock.now();
    this.send({ type: "test_request", test_id: String(this.#nextTestId++) });
  }

  /**
   * No frame answered a test request. On a pipe, a peer whose bytes still arrived after
   * it is not dead but writing into a frame that never ends (the same finding as the
   * `StallWatch`, which may simply not have fired yet).
   */
  #declareDead(silentForMs: number): void {
    const partial = this.#decoder.bufferedBytes;
    if (this.#ordered && partial > 0 && this.#lastDataAt >= this.#testRequestedAt) {
      this.#stalled(partial, silentForMs);
      return;
    }
    this.emit(
      "dead",
      new ProtocolError(
        "PROTOCOL_PEER_DEAD",
        `peer silent for ${Math.round(silentForMs)} ms and did not answer a test request`,
        { retryable: true },
      ),
    );
  }

  #stalled(partialBytes: number, forMs: number): void {
    this.#violation(
      `peer kept sending for ${Math.round(forMs)} ms without completing a frame (${partialBytes} bytes of an unfinished frame held)`,
    );
  }

  readonly #onStreamClose = (): void => this.close();

  readonly #onStreamError = (cause: Error): void => {
    try {
      this.emit(
        "error",
        new ProtocolError("PROTOCOL_CLOSED", `byte stream failed: ${cause.message}`, { cause }),
      );
    } finally {
      this.close();
    }
  };

  readonly #onFrame = (message: Message): void => {
    // A violation closes the channel while the rest of the chunk is still being decoded.
    if (this.#closed) return;
    this.#counters.framesReceived++;
    this.#liveness?.noteReceived();
    const sessionLayer = isSessionLayer(message);
    const outOfSequence = this.#window.impossible(message.seq);
    if (outOfSequence !== undefined) {
      this.#violation(`"${message.type}" frame ${outOfSequence}`);
      return;
    }
    if (message.seq === undefined) {
      if (sessionLayer) this.#handleSessionMessage(message);
      else this.#deliver([message]);
      return;
    }
    const arrival = this.#window.accept(message.seq, sessionLayer ? undefined : message);
    if (arrival.duplicate) {
      this.#counters.duplicatesDropped++;
      return;
    }
    if (arrival.resend !== undefined) {
      this.#requestResend(arrival.resend);
    } else if (this.#window.heldCount > 0) {
      // The request or its answer may itself have been lost: ask again, now and then.
      const gap = this.#window.firstGap();
      if (gap !== undefined && this.#clock.now() - this.#gapRequestedAt >= this.#resendRetryMs) {
        this.#requestResend(gap);
      }
    }
    if (sessionLayer) this.#handleSessionMessage(message);
    this.#deliver(arrival.deliver);
    if (this.#window.heldCount > this.#maxHeldFrames) {
      this.#giveUpOnGap(`more than ${this.#maxHeldFrames} frames held after a gap`);
    }
  };

  #requestResend(range: { from: number; to: number }): void {
    this.#counters.resendRequestsSent++;
    this.#gapRequestedAt = this.#clock.now();
    this.send({ type: "resend_request", ...range });
  }

  #handleSessionMessage(message: Message): void {
    switch (message.type) {
      case "heartbeat":
        if (message.test_id !== undefined && !this.#sentTestRequest(message.test_id)) {
          this.#violation(
            `heartbeat answers test request "${message.test_id.slice(0, 64)}", never sent`,
          );
          return;
        }
        this.#lastPeerHeartbeat = message;
        // An answer to our test request is not a heartbeat of the peer's own timer.
        if (message.test_id === undefined) this.#liveness?.peerHeartbeat();
        this.emit("heartbeat", message);
        return;
      case "test_request":
        if (!this.#closed) {
          this.send({ type: "heartbeat", ...this.#heartbeatFields(), test_id: message.test_id });
        }
        return;
      case "resend_request":
        this.#resend(message.from, message.to);
        return;
      case "error":
        this.#giveUpOnGap(`peer cannot resend: ${message.message}`);
        return;
      default:
        return;
    }
  }

  #sentTestRequest(testId: string): boolean {
    const id = Number(testId);
    return Number.isSafeInteger(id) && id >= 1 && id < this.#nextTestId && String(id) === testId;
  }

  #resend(from: number, to: number): void {
    if (this.#closed) return;
    if (from < 1 || from > to || to >= this.#nextSeq) {
      this.#violation(
        `peer asked to resend frames ${from}..${to}; frames sent so far are 1..${this.#nextSeq - 1}`,
      );
      return;
    }
    const frames = this.#sent.get(from, to);
    if (frames === undefined) {
      const kept =
        this.#sent.size === 0 ? "none" : `${this.#sent.oldestSeq}..${this.#sent.newestSeq}`;
      const error = new ProtocolError(
        "PROTOCOL_RESEND_UNAVAILABLE",
        `peer asked to resend frames ${from}..${to}; the resend buffer keeps ${kept}`,
      );
      this.send({ type: "error", code: error.code, name: error.name, message: error.message });
      this.emit("error", error);
      return;
    }
    // Resent frames keep their original bytes and sequence numbers.
    for (const frame of frames) {
      this.#counters.framesResent++;
      this.#stream.write(frame);
    }
    this.#liveness?.noteSent();
  }

  /** The frames of the open gap will never come: report the loss and deliver the rest. */
  #giveUpOnGap(reason: string): void {
    const { deliver, lost } = this.#window.skipGap();
    if (lost !== undefined) {
      this.emit(
        "error",
        new ProtocolError(
          "PROTOCOL_RESEND_UNAVAILABLE",
          `frames ${lost.from}..${lost.to} from the peer are lost (${reason})`,
        ),
      );
    }
    this.#deliver(deliver);
  }

  #deliver(messages: Message[]): void {
    if (messages.length === 0) return;
    this.#inbox.push(...messages);
    if (this.#delivering) return;
    this.#delivering = true;
    let index = 0;
    try {
      while (index < this.#inbox.length) {
        const message = this.#inbox[index++]!;
        this.#counters.delivered++;
        this.emit("message", message);
      }
    } finally {
      // If a listener threw, the undelivered rest waits for the next arrival.
      this.#inbox = this.#inbox.slice(index);
      this.#delivering = false;
    }
  }
}
