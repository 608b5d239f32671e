import { encode as msgpackEncode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { ProtocolError } from "../../src/errors.ts";
import {
  DEFAULT_MAX_FRAME_BYTES,
  decodePayload,
  encodeFrame,
  encodeMessage,
  FrameDecoder,
} from "../../src/protocol/frame.ts";
import type { Message } from "../../src/protocol/messages.ts";
import { ALL_SAMPLES, SAMPLES } from "./samples.ts";

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}

function frameWithPayload(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(4 + payload.byteLength);
  new DataView(frame.buffer).setUint32(0, payload.byteLength);
  frame.set(payload, 4);
  return frame;
}

describe("encodeFrame / FrameDecoder", () => {
  it.each(ALL_SAMPLES.map((sample) => [sample.type, sample] as const))(
    "round-trips a %s message",
    (_type, sample) => {
      const frame = encodeFrame(sample);
      expect(new DataView(frame.buffer).getUint32(0)).toBe(frame.byteLength - 4);
      const decoded = new FrameDecoder().push(frame);
      expect(decoded).toEqual([sample]);
    },
  );

  it("keeps binary fields binary, also when sent as a Node Buffer", () => {
    const data = Buffer.from("binary \u0000\u00ff payload");
    const [decoded] = new FrameDecoder().push(encodeFrame({ ...SAMPLES.checkpoint, data }));
    if (decoded?.type !== "checkpoint") throw new Error("expected a checkpoint");
    expect(decoded.data).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(decoded.data).equals(data)).toBe(true);
    // Chunks that arrive as Buffers (sockets, pipes) still give plain Uint8Arrays.
    const fromBuffer = new FrameDecoder().push(Buffer.from(encodeFrame(SAMPLES.checkpoint)));
    expect(fromBuffer[0]?.type === "checkpoint" && fromBuffer[0].data.constructor).toBe(Uint8Array);
    // Binary travels as MessagePack bin 16 (0xc5, length 300), not as an array of numbers.
    const big = Buffer.alloc(300, 7);
    const encoded = Buffer.from(encodeMessage({ ...SAMPLES.checkpoint, data: big }));
    const at = encoded.indexOf(Buffer.from([0xc5, 0x01, 0x2c]));
    expect(at).toBeGreaterThan(0);
    expect(encoded.subarray(at + 3, at + 303).equals(big)).toBe(true);
  });

  it("leaves out optional fields set to undefined instead of sending nil", () => {
    const message: Message = { type: "shutdown", reason: undefined };
    expect(new FrameDecoder().push(encodeFrame(message))).toEqual([{ type: "shutdown" }]);
  });

  it("decodes a multi-frame buffer split at every possible point", () => {
    const messages = [SAMPLES.execute, SAMPLES.output, SAMPLES.checkpoint, SAMPLES.result];
    const stream = Buffer.concat(messages.map((message) => encodeFrame(message)));
    for (let split = 0; split <= stream.byteLength; split++) {
      const decoder = new FrameDecoder();
      const got = [
        ...decoder.push(stream.subarray(0, split)),
        ...decoder.push(stream.subarray(split)),
      ];
      expect(got, `split at ${split}`).toEqual(messages);
      expect(decoder.bufferedBytes).toBe(0);
    }
  });

  it("decodes a stream delivered one byte at a time", () => {
    const messages = ALL_SAMPLES;
    const stream = Buffer.concat(messages.map((message) => encodeFrame(message)));
    const decoder = new FrameDecoder();
    const got: Message[] = [];
    for (let i = 0; i < stream.byteLength; i++)
      got.push(...decoder.push(stream.subarray(i, i + 1)));
    expect(got).toEqual(messages);
  });

  it("returns every message of coalesced frames from one push", () => {
    const stream = Buffer.concat(ALL_SAMPLES.map((message) => encodeFrame(message)));
    expect(new FrameDecoder().push(stream)).toEqual(ALL_SAMPLES);
  });

  it("keeps a partial frame buffered until the rest arrives", () => {
    const frame = encodeFrame(SAMPLES.output);
    const decoder = new FrameDecoder();
    expect(decoder.push(frame.subarray(0, 3))).toEqual([]);
    expect(decoder.push(frame.subarray(3, frame.byteLength - 1))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(frame.byteLength - 1);
    expect(decoder.push(frame.subarray(frame.byteLength - 1))).toEqual([SAMPLES.output]);
  });

  it("rejects an oversized length on the header alone, before the payload arrives", () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 1024 });
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, 3 * 1024 * 1024 * 1024); // 3 GiB
    // Only the 4 header bytes are pushed: the error cannot come from reading a payload.
    const error = catchError(() => decoder.push(header));
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe("PROTOCOL_FRAME_TOO_LARGE");
    expect((error as ProtocolError).message).toContain("3221225472");
    expect(decoder.bufferedBytes).toBe(0);
  });

  it("accepts a frame exactly at the maximum and rejects one byte more", () => {
    const frame = encodeFrame(SAMPLES.output);
    const size = frame.byteLength - 4;
    expect(new FrameDecoder({ maxFrameBytes: size }).push(frame)).toEqual([SAMPLES.output]);
    const error = catchError(() => new FrameDecoder({ maxFrameBytes: size - 1 }).push(frame));
    expect((error as ProtocolError).code).toBe("PROTOCOL_FRAME_TOO_LARGE");
  });

  it("refuses to encode a payload over the frame limit", () => {
    const data = new Uint8Array(2048);
    const error = catchError(() => encodeFrame({ ...SAMPLES.checkpoint, data }, 1024));
    expect((error as ProtocolError).code).toBe("PROTOCOL_FRAME_TOO_LARGE");
    expect(DEFAULT_MAX_FRAME_BYTES).toBe(64 * 1024 * 1024);
  });

  it("turns a value MessagePack cannot encode into a ProtocolError", () => {
    const message: Message = { ...SAMPLES.result, value: { f: () => 1 } };
    const error = catchError(() => encodeFrame(message));
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe("PROTOCOL_INVALID_MESSAGE");
    // The shared encoder still works after a failure.
    expect(new FrameDecoder().push(encodeFrame(SAMPLES.cancel))).toEqual([SAMPLES.cancel]);
  });

  it("reports undecodable MessagePack as PROTOCOL_MALFORMED_FRAME", () => {
    const error = catchError(() => decodePayload(new Uint8Array([0xc1])));
    expect((error as ProtocolError).code).toBe("PROTOCOL_MALFORMED_FRAME");
    const trailing = catchError(() =>
      new FrameDecoder().push(frameWithPayload(new Uint8Array([0x80, 0x80]))),
    );
    expect((trailing as ProtocolError).code).toBe("PROTOCOL_MALFORMED_FRAME");
  });

  it("treats the stream as corrupt after an error: later pushes throw the same error", () => {
    const decoder = new FrameDecoder();
    const bad = frameWithPayload(msgpackEncode({ type: "bogus" }));
    const first = catchError(() => decoder.push(bad));
    expect((first as ProtocolError).code).toBe("PROTOCOL_INVALID_MESSAGE");
    expect(decoder.failure).toBe(first);
    expect(catchError(() => decoder.push(encodeFrame(SAMPLES.cancel)))).toBe(first);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it("feed delivers the messages before a bad frame, then throws", () => {
    const stream = Buffer.concat([
      encodeFrame(SAMPLES.execute),
      encodeFrame(SAMPLES.output),
      frameWithPayload(new Uint8Array([0xc1])),
      encodeFrame(SAMPLES.cancel),
    ]);
    const got: Message[] = [];
    const error = catchError(() => new FrameDecoder().feed(stream, (m) => got.push(m)));
    expect(got).toEqual([SAMPLES.execute, SAMPLES.output]);
    expect((error as ProtocolError).code).toBe("PROTOCOL_MALFORMED_FRAME");
  });

  it("does not corrupt the stream when the message callback throws", () => {
    const stream = Buffer.concat([encodeFrame(SAMPLES.execute), encodeFrame(SAMPLES.cancel)]);
    const decoder = new FrameDecoder();
    const boom = new Error("listener bug");
    expect(
      catchError(() =>
        decoder.feed(stream, () => {
          throw boom;
        }),
      ),
    ).toBe(boom);
    expect(decoder.failure).toBeUndefined();
    expect(decoder.push(new Uint8Array(0))).toEqual([SAMPLES.cancel]);
  });

  it("validates its limit option", () => {
    expect(() => new FrameDecoder({ maxFrameBytes: 0 })).toThrow(RangeError);
    expect(() => new FrameDecoder({ maxFrameBytes: 2 ** 32 })).toThrow(RangeError);
  });
});
