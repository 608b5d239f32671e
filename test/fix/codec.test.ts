import { describe, expect, it } from "vitest";
import {
  checksum,
  encodeMessage,
  type FixMessage,
  MsgType,
  Tag,
} from "../../examples/fix/codec.ts";
import { FixParser } from "../../examples/fix/parser.ts";

const order = (n: number) =>
  encodeMessage([
    [Tag.MsgType, MsgType.NewOrderSingle],
    [Tag.SenderCompID, "BUY"],
    [Tag.TargetCompID, "SELL"],
    [Tag.MsgSeqNum, String(n)],
    [Tag.SendingTime, "20261201-20:15:30.123"],
    [Tag.ClOrdID, `ord-${n}`],
    [Tag.Symbol, "ACME"],
    [Tag.OrderQty, String(100 * n)],
  ]);

/** A small deterministic PRNG (mulberry32), so a failing seed can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("FIX codec", () => {
  it("frames a message with BodyLength and a three-digit CheckSum a FIX engine computes the same way", () => {
    const raw = encodeMessage([
      [Tag.MsgType, MsgType.Heartbeat],
      [Tag.SenderCompID, "A"],
      [Tag.TargetCompID, "B"],
      [Tag.MsgSeqNum, "1"],
    ]);
    const text = raw.toString("latin1");
    // Body = "35=0|49=A|56=B|34=1|" = 5 + 5 + 5 + 5 = 20 bytes.
    expect(text.startsWith("8=FIX.4.2\u00019=20\u000135=0\u0001")).toBe(true);
    const sum = [...raw.subarray(0, raw.length - 7)].reduce((a, b) => a + b, 0) % 256;
    expect(text.endsWith(`10=${String(sum).padStart(3, "0")}\u0001`)).toBe(true);
    expect(checksum(Buffer.from([1, 2, 3]))).toBe("006");
    expect(checksum(Buffer.alloc(3, 255))).toBe("253");
  });

  it("round-trips every field in order", () => {
    const [event] = new FixParser().push(order(7));
    expect(event?.kind).toBe("message");
    const message = (event as { message: FixMessage }).message;
    expect(message.fields.map(([tag]) => tag)).toEqual([8, 9, 35, 49, 56, 34, 52, 11, 55, 38, 10]);
    expect(message.msgType).toBe("D");
    expect(message.seqNum).toBe(7);
    expect(message.get(Tag.ClOrdID)).toBe("ord-7");
  });

  it("refuses to encode a value with SOH, an empty value, or a framing tag", () => {
    expect(() =>
      encodeMessage([
        [Tag.MsgType, "0"],
        [58, "a\u0001b"],
      ]),
    ).toThrow(expect.objectContaining({ code: "FIX_INVALID_FIELD" }));
    expect(() =>
      encodeMessage([
        [Tag.MsgType, "0"],
        [58, ""],
      ]),
    ).toThrow(/non-empty/);
    expect(() =>
      encodeMessage([
        [Tag.MsgType, "0"],
        [Tag.CheckSum, "000"],
      ]),
    ).toThrow(/framing/);
    expect(() => encodeMessage([[Tag.SenderCompID, "A"]])).toThrow(/MsgType/);
  });
});

describe("FIX streaming parser", () => {
  const three = Buffer.concat([order(1), order(2), order(3)]);

  it("yields the same three messages for every split point of a coalesced buffer", () => {
    for (let cut = 0; cut <= three.length; cut++) {
      for (const second of [cut, Math.min(three.length, cut + 17)]) {
        const parser = new FixParser();
        const events = [
          ...parser.push(three.subarray(0, cut)),
          ...parser.push(three.subarray(cut, second)),
          ...parser.push(three.subarray(second)),
        ];
        expect(
          events.map((e) => (e.kind === "message" ? e.message.get(Tag.ClOrdID) : e.reason)),
          `cut at ${cut}/${second}`,
        ).toEqual(["ord-1", "ord-2", "ord-3"]);
        expect(parser.buffered).toBe(0);
      }
    }
  });

  it("byte by byte gives the same messages", () => {
    const parser = new FixParser();
    const ids = [];
    for (const byte of three) {
      for (const e of parser.push(Buffer.from([byte]))) {
        if (e.kind === "message") ids.push(e.message.get(Tag.ClOrdID));
      }
    }
    expect(ids).toEqual(["ord-1", "ord-2", "ord-3"]);
  });

  it("skips a message with a bad CheckSum and keeps the next one", () => {
    const bad = Buffer.from(order(1));
    bad[bad.length - 2] = bad[bad.length - 2] === 0x30 ? 0x31 : 0x30; // last checksum digit
    const events = new FixParser().push(Buffer.concat([bad, order(2)]));
    expect(events.map((e) => e.kind)).toEqual(["garbled", "message"]);
    expect(events[0]).toMatchObject({ reason: expect.stringMatching(/CheckSum/) });
  });

  it("skips a message whose BodyLength is wrong and resynchronises on the next", () => {
    const text = order(1)
      .toString("latin1")
      .replace(/9=(\d+)/, (_m, n) => `9=${Number(n) - 3}`);
    const events = new FixParser().push(Buffer.concat([Buffer.from(text, "latin1"), order(2)]));
    expect(
      events
        .filter((e) => e.kind === "message")
        .map((e) => e.kind === "message" && e.message.seqNum),
    ).toEqual([2]);
    expect(events[0]).toMatchObject({
      kind: "garbled",
      reason: expect.stringMatching(/BodyLength/),
    });
  });

  it("rejects a huge BodyLength at once instead of waiting for it", () => {
    const parser = new FixParser({ maxBodyLength: 4096 });
    const events = parser.push(Buffer.from("8=FIX.4.2\u00019=999999999\u000135=0\u0001", "latin1"));
    expect(events[0]).toMatchObject({ kind: "garbled", reason: expect.stringMatching(/maximum/) });
    expect(parser.buffered).toBeLessThan(8);
  });

  it("never throws or hangs on seeded garbage, and finds the valid messages mixed into it", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = prng(seed);
      const parts: Buffer[] = [];
      const valid: number[] = [];
      for (let i = 0; i < 6; i++) {
        const noise = Buffer.alloc(Math.floor(random() * 40));
        for (let j = 0; j < noise.length; j++) {
          // Bias towards the bytes a parser looks for: '8', '=', 'F', SOH, digits.
          const pick = random();
          noise[j] =
            pick < 0.3
              ? (([0x38, 0x3d, 0x46, 0x01, 0x39, 0x31] as const)[Math.floor(random() * 6)] ?? 0)
              : Math.floor(random() * 256);
        }
        parts.push(noise);
        if (random() < 0.6) {
          // A valid message after garbage must start a field, as on a real stream.
          parts.push(Buffer.from([0x01]), order(i + 1));
          valid.push(i + 1);
        }
      }
      const stream = Buffer.concat(parts);
      const parser = new FixParser({ maxBodyLength: 4096 });
      const seen: number[] = [];
      let at = 0;
      while (at < stream.length) {
        const size = 1 + Math.floor(random() * 64);
        for (const e of parser.push(stream.subarray(at, at + size))) {
          if (e.kind === "message" && e.message.msgType === "D") seen.push(e.message.seqNum ?? -1);
          if (e.kind === "garbled") expect(e.bytes).toBeGreaterThan(0);
        }
        at += size;
      }
      // Garbage may swallow a message only by overlapping it (a fake header whose body
      // length runs into it); every message seen is a real one, in order.
      expect(
        seen.every((n) => valid.includes(n)),
        `seed ${seed}`,
      ).toBe(true);
      expect([...seen].sort((a, b) => a - b)).toEqual(seen);
      expect(parser.buffered, `seed ${seed}`).toBeLessThanOrEqual(4096 + 64);
    }
  });
});
