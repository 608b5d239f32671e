/**
 * Framing of wire messages: a 4-byte big-endian payload length, then a MessagePack
 * payload. `encodeFrame` builds one frame; `FrameDecoder` turns an arbitrary split or
 * coalescing of received chunks back into messages, each checked by the validator it is
 * given. This module has no schema (and so no zod): frame.ts adds the message schema as
 * the validator, and is what a host uses; a worker's service thread checks its trusted
 * host's frames with `trustedPeerMessage` (kinds.ts) instead.
 *
 * Error policy of `FrameDecoder`: the first bad frame (length over the maximum,
 * undecodable MessagePack, or a value its validator refuses) makes the stream *corrupt*.
 * A length-prefixed stream has no resynchronization marker, so after a bad frame no later
 * boundary can be trusted: the buffered bytes are discarded and every later `push`/`feed`
 * throws the same `ProtocolError` again (see `failure`).
 */
import { Decoder, Encoder } from "@msgpack/msgpack";
import { ProtocolError } from "../errors.ts";
import { ByteQueue } from "./byte-queue.ts";
import type { Message } from "./messages.ts";

/** Turns a decoded MessagePack value into a message, or throws `PROTOCOL_INVALID_MESSAGE`. */
export type MessageValidator = (value: unknown) => Message;

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;
/** Default largest payload a decoder accepts (and an encoder produces): 64 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
/** The largest payload a 4-byte length can announce. */
const ABSOLUTE_MAX_FRAME_BYTES = 0xffff_ffff;

// `ignoreUndefined` so that an optional field set to `undefined` is left out rather
// than sent as nil, which the schema on the other side would reject.
const encoder = new Encoder({ ignoreUndefined: true });

/**
 * Encodes a message as MessagePack, without the length prefix and without validation.
 * A value MessagePack cannot represent (a function, a symbol, nesting over 100 levels)
 * is a `ProtocolError` `PROTOCOL_INVALID_MESSAGE`.
 */
export function encodeMessage(message: Message): Uint8Array {
  return encodeShared(message).slice();
}

/**
 * Encodes one frame: length prefix and MessagePack payload. Binary fields
 * (`Uint8Array`, `Buffer`) are sent as MessagePack binary and decode as `Uint8Array`.
 * A payload over `maxFrameBytes` is refused here (`PROTOCOL_FRAME_TOO_LARGE`) rather
 * than sent to a peer that would have to reject it.
 */
export function encodeFrame(
  message: Message,
  maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES,
): Uint8Array {
  // The shared reference is only valid until the next encode, so it is copied at once.
  const payload = encodeShared(message);
  if (payload.byteLength > Math.min(maxFrameBytes, ABSOLUTE_MAX_FRAME_BYTES)) {
    throw new ProtocolError(
      "PROTOCOL_FRAME_TOO_LARGE",
      `"${message.type}" message encodes to ${payload.byteLength} bytes, over the frame limit of ${maxFrameBytes}`,
    );
  }
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.byteLength);
  new DataView(frame.buffer).setUint32(0, payload.byteLength);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/** Encodes into the shared encoder buffer; valid only until the next encode. */
function encodeShared(message: Message): Uint8Array {
  try {
    return encoder.encodeSharedRef(message);
  } catch (error) {
    const type = typeof message === "object" && message !== null ? message.type : message;
    throw new ProtocolError(
      "PROTOCOL_INVALID_MESSAGE",
      `cannot encode "${String(type)}" message: ${describe(error)}`,
      { cause: error },
    );
  }
}

/**
 * Decodes one MessagePack payload (no length prefix) and validates it. Throws
 * `PROTOCOL_MALFORMED_FRAME` for bytes that are not one MessagePack value, and what
 * `validate` throws for a value that is not a valid message.
 * Binary fields of the result are views into `payload`, not copies.
 */
export function decodeValidated(
  payload: Uint8Array,
  validate: MessageValidator,
  decoder: Decoder = sharedDecoder(),
): Message {
  let value: unknown;
  try {
    value = decoder.decode(payload);
  } catch (error) {
    throw new ProtocolError(
      "PROTOCOL_MALFORMED_FRAME",
      `undecodable MessagePack payload of ${payload.byteLength} bytes: ${describe(error)}`,
      { cause: error },
    );
  }
  return validate(value);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function createDecoder(maxFrameBytes: number): Decoder {
  // No container or string can hold more elements than the payload has bytes; the
  // limits keep a forged header from making the decoder allocate for it.
  return new Decoder({
    maxStrLength: maxFrameBytes,
    maxBinLength: maxFrameBytes,
    maxArrayLength: maxFrameBytes,
    maxMapLength: maxFrameBytes,
    maxExtLength: maxFrameBytes,
  });
}

/**
 * The decoder for the default frame limit, made on first use: a thread that only encodes
 * (the worker's main thread) then never has msgpack's decoder in its bundle at all.
 */
let defaultDecoder: Decoder | undefined;
function sharedDecoder(): Decoder {
  defaultDecoder ??= createDecoder(DEFAULT_MAX_FRAME_BYTES);
  return defaultDecoder;
}

export interface FrameDecoderOptions {
  /** Largest payload accepted, in bytes (default 64 MiB, at most 2^32 - 1). */
  maxFrameBytes?: number;
  /** Checks each decoded value; the message schema where frame.ts makes the decoder. */
  validate: MessageValidator;
}

/**
 * Streaming frame decoder. Push received chunks in any split; complete messages come
 * out in order. Takes ownership of pushed chunks: do not modify a chunk after pushing
 * it (binary fields of decoded messages may be views into it).
 */
export class FrameDecoder {
  readonly maxFrameBytes: number;
  readonly #queue = new ByteQueue();
  readonly #decoder: Decoder;
  readonly #validate: MessageValidator;
  /** Payload length of the frame being assembled, once its header has been read. */
  #pendingLength: number | undefined;
  #failure: ProtocolError | undefined;
  #feeding = false;

  constructor(options: FrameDecoderOptions) {
    const max = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isInteger(max) || max < 1 || max > ABSOLUTE_MAX_FRAME_BYTES) {
      throw new RangeError(`maxFrameBytes must be an integer in 1..${ABSOLUTE_MAX_FRAME_BYTES}`);
    }
    this.maxFrameBytes = max;
    this.#decoder = max === DEFAULT_MAX_FRAME_BYTES ? sharedDecoder() : createDecoder(max);
    this.#validate = options.validate;
  }

  /** The error that made the stream corrupt, if any. */
  get failure(): ProtocolError | undefined {
    return this.#failure;
  }

  /** Bytes received and not yet part of a returned message. */
  get bufferedBytes(): number {
    return this.#queue.length + (this.#pendingLength === undefined ? 0 : FRAME_HEADER_BYTES);
  }

  /**
   * Adds a chunk and returns every message it completes. Throws a `ProtocolError` for a
   * bad frame; messages completed earlier in the same call are then not returned — use
   * `feed` where they must not be lost.
   */
  push(chunk: Uint8Array): Message[] {
    const messages: Message[] = [];
    this.feed(chunk, (message) => messages.push(message));
    return messages;
  }

  /**
   * Adds a chunk and hands each message it completes to `onMessage` as soon as it is
   * decoded, so messages before a bad frame are delivered before the error is thrown.
   * An exception thrown by `onMessage` propagates and does not corrupt the stream; the
   * bytes after that message stay buffered for the next call. A call made from inside
   * `onMessage` only buffers its chunk: the outer call decodes it, in order.
   */
  feed(chunk: Uint8Array, onMessage: (message: Message) => void): void {
    if (this.#failure !== undefined) throw this.#failure;
    // A plain view of a Buffer, so decoded binary fields are `Uint8Array`s whatever the
    // stream delivers (a subarray of a Buffer would be a Buffer). No bytes are copied.
    this.#queue.append(
      chunk.constructor === Uint8Array
        ? chunk
        : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength),
    );
    if (this.#feeding) return;
    this.#feeding = true;
    try {
      for (;;) {
        const message = this.#next();
        if (message === undefined) return;
        onMessage(message);
      }
    } finally {
      this.#feeding = false;
    }
  }

  #next(): Message | undefined {
    try {
      if (this.#pendingLength === undefined) {
        if (this.#queue.length < FRAME_HEADER_BYTES) return undefined;
        const length = this.#queue.peekUint32();
        if (length > this.maxFrameBytes) {
          throw new ProtocolError(
            "PROTOCOL_FRAME_TOO_LARGE",
            `frame header announces ${length} bytes, over the limit of ${this.maxFrameBytes}`,
          );
        }
        this.#queue.skip(FRAME_HEADER_BYTES);
        this.#pendingLength = length;
      }
      if (this.#queue.length < this.#pendingLength) return undefined;
      const payload = this.#queue.take(this.#pendingLength);
      this.#pendingLength = undefined;
      return decodeValidated(payload, this.#validate, this.#decoder);
    } catch (error) {
      this.#failure =
        error instanceof ProtocolError
          ? error
          : new ProtocolError("PROTOCOL_MALFORMED_FRAME", describe(error), { cause: error });
      this.#queue.clear();
      this.#pendingLength = undefined;
      throw this.#failure;
    }
  }
}
