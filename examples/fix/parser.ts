/**
 * A streaming FIX parser: feed it TCP chunks as they arrive (split or coalesced
 * anywhere) and it returns the complete messages in them.
 *
 * A garbled message (bad BodyLength, bad CheckSum, a field without `=`) is reported and
 * skipped, as FIX requires: the parser resynchronises on the next `8=FIX` that starts a
 * field. It never throws on input and never waits forever: every garbled case advances
 * past at least one byte, a BodyLength over `maxBodyLength` is garbled at once (before
 * buffering it), and bytes that cannot start a message are dropped.
 */
import { checksum, type FixField, FixMessage, SOH } from "./codec.ts";

export type ParseEvent =
  | { kind: "message"; message: FixMessage; raw: Buffer }
  | { kind: "garbled"; reason: string; bytes: number };

const START = Buffer.from("8=FIX", "latin1");
/** `10=` + three digits + SOH. */
const TRAILER_LENGTH = 7;
/** Longest header prefix `8=FIX.x.y|9=nnnnnnnn|` worth waiting for before giving up. */
const MAX_HEADER_PREFIX = 40;

export interface ParserOptions {
  /** Largest BodyLength accepted; anything larger is garbled. Default 1 MiB. */
  maxBodyLength?: number;
}

export class FixParser {
  readonly #maxBodyLength: number;
  #buffer: Buffer = Buffer.alloc(0);

  constructor(options: ParserOptions = {}) {
    this.#maxBodyLength = options.maxBodyLength ?? 1024 * 1024;
  }

  /** Bytes held while waiting for the rest of a message. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** Adds a chunk; returns the messages and garbled reports it completed, in order. */
  push(chunk: Uint8Array): ParseEvent[] {
    this.#buffer =
      this.#buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buffer, chunk]);
    const events: ParseEvent[] = [];
    for (;;) {
      const event = this.#next();
      if (event === undefined) return events;
      events.push(event);
    }
  }

  /** One message or garbled report from the front of the buffer, or undefined to wait. */
  #next(): ParseEvent | undefined {
    const start = this.#findStart(0);
    if (start === -1) {
      // Keep only a tail that could still become `8=FIX` with the next chunk.
      const dropped = this.#buffer.length - this.#startTail();
      if (dropped === 0) return undefined;
      this.#buffer = this.#buffer.subarray(dropped);
      return { kind: "garbled", reason: "bytes outside a message", bytes: dropped };
    }
    if (start > 0) {
      this.#buffer = this.#buffer.subarray(start);
      return { kind: "garbled", reason: "bytes outside a message", bytes: start };
    }
    const buf = this.#buffer;
    const beginEnd = buf.indexOf(SOH);
    if (beginEnd === -1) return this.#waitUnlessTooLong("BeginString(8) has no end");
    const lengthEnd = buf.indexOf(SOH, beginEnd + 1);
    if (lengthEnd === -1) {
      const partial = buf.toString("latin1", beginEnd + 1);
      if (!/^(9(=\d{0,9})?)?$/.test(partial))
        return this.#skip("BodyLength(9) must follow BeginString(8)");
      return this.#waitUnlessTooLong("BodyLength(9) has no end");
    }
    const lengthField = buf.toString("latin1", beginEnd + 1, lengthEnd);
    if (!/^9=\d{1,9}$/.test(lengthField))
      return this.#skip("BodyLength(9) must follow BeginString(8)");
    const bodyLength = Number(lengthField.slice(2));
    if (bodyLength > this.#maxBodyLength)
      return this.#skip(`BodyLength ${bodyLength} over the maximum`);
    const bodyStart = lengthEnd + 1;
    const trailerStart = bodyStart + bodyLength;
    const end = trailerStart + TRAILER_LENGTH;
    if (buf.length < end) return undefined;
    const trailer = buf.toString("latin1", trailerStart, end);
    if (
      !/^10=\d{3}$/.test(trailer.slice(0, 6)) ||
      buf[end - 1] !== SOH ||
      buf[trailerStart - 1] !== SOH
    ) {
      return this.#skip("BodyLength(9) does not end at CheckSum(10)");
    }
    const expected = checksum(buf, 0, trailerStart);
    if (trailer.slice(3, 6) !== expected) {
      // The frame is consistent, so the whole message is skipped, not just its start.
      this.#buffer = buf.subarray(end);
      return {
        kind: "garbled",
        reason: `CheckSum ${trailer.slice(3, 6)}, expected ${expected}`,
        bytes: end,
      };
    }
    const raw = Buffer.from(buf.subarray(0, end));
    this.#buffer = buf.subarray(end);
    const fields = splitFields(raw.toString("latin1", 0, end - 1));
    if (fields === undefined)
      return { kind: "garbled", reason: "a field is not tag=value", bytes: end };
    return { kind: "message", message: new FixMessage(fields), raw };
  }

  /** Index of `8=FIX` at `from` or later that starts a field (buffer start or after SOH). */
  #findStart(from: number): number {
    let at = this.#buffer.indexOf(START, from);
    while (at > 0 && this.#buffer[at - 1] !== SOH) at = this.#buffer.indexOf(START, at + 1);
    return at;
  }

  /** Length of the longest end of the buffer that is the beginning of `8=FIX`. */
  #startTail(): number {
    const buf = this.#buffer;
    for (let n = Math.min(START.length - 1, buf.length); n > 0; n--) {
      const at = buf.length - n;
      if ((at === 0 || buf[at - 1] === SOH) && buf.subarray(at).equals(START.subarray(0, n)))
        return n;
    }
    return 0;
  }

  /** Drops this candidate start and resynchronises on the next one. */
  #skip(reason: string): ParseEvent {
    const next = this.#findStart(1);
    const bytes = next === -1 ? Math.max(1, this.#buffer.length - this.#startTail()) : next;
    this.#buffer = this.#buffer.subarray(bytes);
    return { kind: "garbled", reason, bytes };
  }

  #waitUnlessTooLong(reason: string): ParseEvent | undefined {
    return this.#buffer.length > MAX_HEADER_PREFIX ? this.#skip(reason) : undefined;
  }
}

/** `8=FIX.4.2|9=5|...|10=123` (no final SOH) into fields, or undefined if one is malformed. */
function splitFields(text: string): FixField[] | undefined {
  const fields: FixField[] = [];
  for (const part of text.split("\u0001")) {
    const eq = part.indexOf("=");
    const tag = part.slice(0, eq);
    if (eq <= 0 || !/^[1-9]\d{0,8}$/.test(tag) || eq === part.length - 1) return undefined;
    fields.push([Number(tag), part.slice(eq + 1)]);
  }
  return fields;
}
