/** The bookkeeping behind resends, on its own: receive window and resend buffer. */
import { describe, expect, it } from "vitest";
import { ReceiveWindow } from "../../src/protocol/receive-window.ts";
import { ResendBuffer } from "../../src/protocol/resend-buffer.ts";

describe("ReceiveWindow", () => {
  it("asks for each gap once and delivers in order when it is filled", () => {
    const window = new ReceiveWindow<string>();
    expect(window.accept(1, "a")).toEqual({ duplicate: false, deliver: ["a"] });
    expect(window.accept(4, "d")).toEqual({
      duplicate: false,
      deliver: [],
      resend: { from: 2, to: 3 },
    });
    // A later frame past the same gap does not ask again for 2..3, only for 5.
    expect(window.accept(6, "f").resend).toEqual({ from: 5, to: 5 });
    expect(window.accept(3, "c")).toEqual({ duplicate: false, deliver: [] });
    expect(window.accept(2, "b")).toEqual({ duplicate: false, deliver: ["b", "c", "d"] });
    expect(window.accept(5, "e").deliver).toEqual(["e", "f"]);
    expect(window.expected).toBe(7);
    expect(window.heldCount).toBe(0);
  });

  it("reports duplicates of delivered and of held frames", () => {
    const window = new ReceiveWindow<string>();
    window.accept(1, "a");
    window.accept(3, "c");
    expect(window.accept(1, "a").duplicate).toBe(true);
    expect(window.accept(3, "c").duplicate).toBe(true);
  });

  it("tracks frames handled on arrival without delivering them", () => {
    const window = new ReceiveWindow<string>();
    window.accept(2, undefined);
    expect(window.accept(1, "a").deliver).toEqual(["a"]);
    expect(window.expected).toBe(3);
  });

  it("skips an unrecoverable gap and names the lost range", () => {
    const window = new ReceiveWindow<string>();
    window.accept(4, "d");
    window.accept(5, "e");
    expect(window.skipGap()).toEqual({ deliver: ["d", "e"], lost: { from: 1, to: 3 } });
    expect(window.skipGap()).toEqual({ deliver: [] });
  });
});

describe("ResendBuffer", () => {
  const frame = (size: number): Uint8Array => new Uint8Array(size);

  it("keeps the newest frames up to the count bound", () => {
    const buffer = new ResendBuffer(3, 1 << 20);
    for (let seq = 1; seq <= 5; seq++) buffer.add(seq, frame(seq));
    expect([buffer.oldestSeq, buffer.newestSeq]).toEqual([3, 5]);
    expect(buffer.get(3, 5)?.map((f) => f.byteLength)).toEqual([3, 4, 5]);
    expect(buffer.get(2, 4)).toBeUndefined();
    expect(buffer.get(5, 6)).toBeUndefined();
  });

  it("keeps frames up to the byte bound, and always the newest", () => {
    const buffer = new ResendBuffer(100, 10);
    buffer.add(1, frame(4));
    buffer.add(2, frame(4));
    buffer.add(3, frame(4));
    expect([buffer.oldestSeq, buffer.size]).toEqual([2, 2]);
    buffer.add(4, frame(50));
    expect([buffer.oldestSeq, buffer.size]).toEqual([4, 1]);
  });

  it("refuses out-of-order sequence numbers", () => {
    const buffer = new ResendBuffer(3, 100);
    buffer.add(1, frame(1));
    expect(() => buffer.add(3, frame(1))).toThrow(RangeError);
  });
});
