/**
 * Garbage in, ProtocolError out: random bytes, truncated and corrupted frames, and
 * random MessagePack values never make the decoder throw anything else or hang.
 * Seeded, so a failure names the seed that replays it.
 */
import { encode as msgpackEncode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { ProtocolError } from "../../src/errors.ts";
import { encodeFrame, FrameDecoder } from "../../src/protocol/frame.ts";
import type { Message } from "../../src/protocol/messages.ts";
import { mulberry32, randomBytes, randomInt } from "./prng.ts";
import { ALL_SAMPLES } from "./samples.ts";

const PROTOCOL_CODES = [
  "PROTOCOL_FRAME_TOO_LARGE",
  "PROTOCOL_MALFORMED_FRAME",
  "PROTOCOL_INVALID_MESSAGE",
];

interface Outcome {
  messages: Message[];
  error: ProtocolError | undefined;
}

/** Pushes `bytes` in random pieces; any throw other than a ProtocolError fails the test. */
function pushInPieces(decoder: FrameDecoder, bytes: Uint8Array, random: () => number): Outcome {
  const messages: Message[] = [];
  let offset = 0;
  while (offset < bytes.byteLength) {
    const size = 1 + randomInt(random, 64);
    try {
      messages.push(...decoder.push(bytes.subarray(offset, offset + size)));
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      expect(PROTOCOL_CODES).toContain(error.code);
      return { messages, error };
    }
    offset += size;
  }
  return { messages, error: undefined };
}

/** No error means the decoder is waiting for the rest of a frame it can accept. */
function expectWaitingOrFailed(decoder: FrameDecoder, outcome: Outcome): void {
  if (outcome.error !== undefined) {
    expect(decoder.failure).toBe(outcome.error);
    expect(() => decoder.push(new Uint8Array([0]))).toThrow(outcome.error);
  } else {
    expect(decoder.bufferedBytes).toBeLessThanOrEqual(4 + decoder.maxFrameBytes);
  }
}

function randomValue(random: () => number, depth = 0): unknown {
  const pick = randomInt(random, depth > 2 ? 6 : 8);
  switch (pick) {
    case 0:
      return null;
    case 1:
      return random() < 0.5;
    case 2:
      return randomInt(random, 1000) - 500;
    case 3:
      return random() * 1e6;
    case 4:
      return ["execute", "result", "heartbeat", "checkpoint", "x", ""][randomInt(random, 6)];
    case 5:
      return randomBytes(random, randomInt(random, 8));
    case 6:
      return Array.from({ length: randomInt(random, 4) }, () => randomValue(random, depth + 1));
    default: {
      const keys = ["type", "id", "seq", "data", "code", "memory_usage", "execution_id", "from"];
      const object: Record<string, unknown> = {};
      for (let i = randomInt(random, 5); i > 0; i--) {
        object[keys[randomInt(random, keys.length)]!] = randomValue(random, depth + 1);
      }
      return object;
    }
  }
}

const validStream = Buffer.concat(ALL_SAMPLES.map((message) => encodeFrame(message)));

describe("FrameDecoder under hostile input", () => {
  it("survives 3000 buffers of random bytes", () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const random = mulberry32(seed);
      const maxFrameBytes = random() < 0.5 ? 4096 : undefined;
      const decoder = new FrameDecoder(maxFrameBytes === undefined ? {} : { maxFrameBytes });
      const garbage = randomBytes(random, randomInt(random, 300));
      const outcome = pushInPieces(decoder, garbage, random);
      expectWaitingOrFailed(decoder, outcome);
    }
  });

  it("survives random bytes after a small plausible length header", () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const random = mulberry32(seed * 7919);
      const payload = randomBytes(random, 1 + randomInt(random, 80));
      const frame = new Uint8Array(4 + payload.byteLength);
      new DataView(frame.buffer).setUint32(0, payload.byteLength);
      frame.set(payload, 4);
      const decoder = new FrameDecoder();
      const outcome = pushInPieces(decoder, frame, random);
      // The whole frame arrived, so it was either a valid message or an error.
      expect(outcome.messages.length + (outcome.error === undefined ? 0 : 1)).toBe(1);
    }
  });

  it("waits without error on every truncation of a valid stream", () => {
    for (let cut = 0; cut <= validStream.byteLength; cut++) {
      const decoder = new FrameDecoder();
      const outcome = pushInPieces(decoder, validStream.subarray(0, cut), mulberry32(cut));
      expect(outcome.error).toBeUndefined();
      expect(outcome.messages).toEqual(ALL_SAMPLES.slice(0, outcome.messages.length));
      const consumed = outcome.messages.reduce((sum, m) => sum + encodeFrame(m).byteLength, 0);
      expect(decoder.bufferedBytes).toBe(cut - consumed);
    }
  });

  it("survives 3000 randomly corrupted valid streams", () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const random = mulberry32(seed * 104_729);
      const corrupted = validStream.slice();
      for (let flips = 1 + randomInt(random, 4); flips > 0; flips--) {
        corrupted[randomInt(random, corrupted.byteLength)] = randomInt(random, 256);
      }
      const decoder = new FrameDecoder({ maxFrameBytes: 1 << 20 });
      const outcome = pushInPieces(decoder, corrupted, random);
      expectWaitingOrFailed(decoder, outcome);
    }
  });

  it("rejects 3000 random MessagePack values that are not messages", () => {
    let rejected = 0;
    for (let seed = 1; seed <= 3000; seed++) {
      const random = mulberry32(seed * 15_485_863);
      const payload = msgpackEncode(randomValue(random));
      const frame = new Uint8Array(4 + payload.byteLength);
      new DataView(frame.buffer).setUint32(0, payload.byteLength);
      frame.set(payload, 4);
      const outcome = pushInPieces(new FrameDecoder(), frame, random);
      if (outcome.error !== undefined) {
        expect(outcome.error.code).toBe("PROTOCOL_INVALID_MESSAGE");
        rejected++;
      }
    }
    // Random shapes are almost never valid messages: the check really ran.
    expect(rejected).toBeGreaterThan(2900);
  });
});
