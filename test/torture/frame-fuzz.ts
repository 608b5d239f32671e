/**
 * Frame fuzz: seeded frames (valid, mutated, truncated, oversized, random bytes and
 * random MessagePack values) pushed in random pieces into the decoder and the message
 * validation both ends use. Only ProtocolErrors may come out; no other throw, no hang
 * (every push returns), and the decoder never buffers past its bound.
 */
import { encode as msgpackEncode } from "@msgpack/msgpack";
import { ProtocolError } from "../../src/errors.ts";
import { encodeFrame, FrameDecoder } from "../../src/protocol/frame.ts";
import { isHostMessage } from "../../src/protocol/messages.ts";
import { mulberry32, randomBytes, randomInt } from "../protocol/prng.ts";
import { ALL_SAMPLES } from "../protocol/samples.ts";
import type { Figures } from "./figures.ts";

const MAX_FRAME = 64 * 1024;

export async function frameFuzz(
  options: { seed: number; frames: number },
  figures: Figures,
): Promise<void> {
  const random = mulberry32(options.seed ^ 0xf00d);
  let decoder = new FrameDecoder({ maxFrameBytes: MAX_FRAME });
  let rejected = 0;
  let accepted = 0;
  for (let i = 0; i < options.frames; i++) {
    const bytes = fuzzedFrame(random);
    let offset = 0;
    try {
      while (offset < bytes.byteLength) {
        const size = 1 + randomInt(random, 48);
        for (const message of decoder.push(bytes.subarray(offset, offset + size))) {
          accepted++;
          isHostMessage(message); // both ends classify what they decoded
        }
        offset += size;
      }
      if (decoder.bufferedBytes > 4 + MAX_FRAME)
        figures.violation(`fuzz frame ${i}: decoder buffers ${decoder.bufferedBytes} bytes`);
    } catch (error) {
      if (!(error instanceof ProtocolError)) {
        figures.record("fuzzed frames", {
          violation: `frame ${i}: ${(error as Error).stack ?? String(error)}`,
        });
        decoder = new FrameDecoder({ maxFrameBytes: MAX_FRAME });
        continue;
      }
      rejected++;
      // A failed stream is over; the peer is replaced, so the fuzz starts a new decoder.
      decoder = new FrameDecoder({ maxFrameBytes: MAX_FRAME });
    }
    if (i % 5_000 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const row = figures.row("fuzzed frames");
  row.injected += options.frames;
  row.survived += options.frames - row.lost;
  console.log(
    `fuzz: ${options.frames} frames, ${accepted} messages accepted, ${rejected} streams rejected with ProtocolError`,
  );
}

function fuzzedFrame(random: () => number): Uint8Array {
  const sample = ALL_SAMPLES[randomInt(random, ALL_SAMPLES.length)];
  const valid = sample === undefined ? new Uint8Array(0) : encodeFrame(sample);
  switch (randomInt(random, 6)) {
    case 0:
      return valid;
    case 1: {
      const copy = valid.slice();
      for (let n = 1 + randomInt(random, 4); n > 0 && copy.length > 0; n--)
        copy[randomInt(random, copy.length)] = randomInt(random, 256);
      return copy;
    }
    case 2:
      return valid.subarray(0, randomInt(random, valid.length + 1));
    case 3: {
      const header = new Uint8Array(4);
      new DataView(header.buffer).setUint32(0, MAX_FRAME + 1 + randomInt(random, 2 ** 31));
      return header;
    }
    case 4:
      return randomBytes(random, randomInt(random, 64));
    default: {
      const payload = msgpackEncode(randomValue(random, 3));
      const frame = new Uint8Array(4 + payload.length);
      new DataView(frame.buffer).setUint32(0, payload.length);
      frame.set(payload, 4);
      return frame;
    }
  }
}

function randomValue(random: () => number, depth: number): unknown {
  switch (randomInt(random, depth > 0 ? 8 : 5)) {
    case 0:
      return randomInt(random, 2 ** 31) - 2 ** 30;
    case 1:
      return ["execute", "output", "result", "heartbeat", "ready", "x", ""][randomInt(random, 7)];
    case 2:
      return random() < 0.5;
    case 3:
      return null;
    case 4:
      return randomBytes(random, randomInt(random, 8));
    case 5:
      return Array.from({ length: randomInt(random, 4) }, () => randomValue(random, depth - 1));
    default: {
      const keys = ["type", "seq", "id", "execution_id", "code", "data", "stream", "pid"];
      return Object.fromEntries(
        Array.from({ length: randomInt(random, 5) }, () => [
          keys[randomInt(random, keys.length)],
          randomValue(random, depth - 1),
        ]),
      );
    }
  }
}
