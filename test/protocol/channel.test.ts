import { afterEach, describe, expect, it, onTestFinished } from "vitest";
import { ProtocolError } from "../../src/errors.ts";
import { ProtocolChannel } from "../../src/protocol/channel.ts";
import { encodeFrame } from "../../src/protocol/frame.ts";
import { type ChannelPair, cancel, channelPair, ids, record } from "./channel-harness.ts";
import { createMemoryLink } from "./memory-link.ts";
import { SAMPLES } from "./samples.ts";

const NO_HEARTBEAT = { heartbeatIntervalMs: 0 };
const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

let pair: ChannelPair | undefined;
afterEach(() => {
  pair?.close();
  pair = undefined;
});

describe("ProtocolChannel sequencing", () => {
  it("stamps per-direction sequence numbers starting at 1 and delivers in order", () => {
    pair = channelPair(NO_HEARTBEAT);
    const { a, b, link, bEvents, aEvents } = pair;
    expect(a.send(cancel(1))).toBe(1);
    expect(a.send(cancel(2))).toBe(2);
    expect(b.send(cancel(9))).toBe(1);
    expect(link.aToB.written.map((m) => m.seq)).toEqual([1, 2]);
    expect(ids(bEvents.messages)).toEqual(["exec-1", "exec-2"]);
    expect(ids(aEvents.messages)).toEqual(["exec-9"]);
  });

  it("continues after frames another writer put on the stream first, and resends them", () => {
    const link = createMemoryLink();
    const b = new ProtocolChannel(link.b, NO_HEARTBEAT);
    const bEvents = record(b);
    // A worker's main thread writes READY as frame 1 before its service thread has a channel.
    const ready = encodeFrame({ type: "ready", seq: 1, pid: 7, protocol_version: 1 });
    link.aToB.carry(ready);
    const a = new ProtocolChannel(link.a, { ...NO_HEARTBEAT, sentBefore: [ready] });
    onTestFinished(() => {
      a.close();
      b.close();
    });
    const dropped = new Set([2]);
    link.aToB.drop = (m) => m.type === "cancel" && m.seq !== undefined && dropped.delete(m.seq);
    expect(a.send(cancel(1))).toBe(2);
    expect(a.send(cancel(2))).toBe(3);
    expect(bEvents.messages.map((m) => m.type)).toEqual(["ready", "cancel", "cancel"]);
    expect(ids(bEvents.messages.slice(1))).toEqual(["exec-1", "exec-2"]);
    expect(a.stats).toMatchObject({ framesSent: 3, framesResent: 1 });
    // Frame 1 was never this channel's to send, but it is kept for a resend of it too.
    link.a.receive(encodeFrame({ type: "resend_request", seq: 2, from: 1, to: 1 }));
    expect(a.stats.framesResent).toBe(2);
    expect(link.aToB.written.at(-1)).toEqual({
      type: "ready",
      seq: 1,
      pid: 7,
      protocol_version: 1,
    });
    expect(bEvents.errors).toEqual([]);
  });

  it("does not modify the caller's message", () => {
    pair = channelPair(NO_HEARTBEAT);
    const message = cancel(1);
    pair.a.send(message);
    expect(message).toEqual({ type: "cancel", execution_id: "exec-1" });
  });

  it("repairs a gap: resend request, held frames, in-order delivery, nothing lost or doubled", () => {
    pair = channelPair(NO_HEARTBEAT);
    const { a, b, link, bEvents } = pair;
    const dropped = new Set([2, 3, 7]);
    link.aToB.drop = (m) => m.type === "cancel" && m.seq !== undefined && dropped.delete(m.seq);
    for (const i of range(1, 10)) a.send(cancel(i));
    expect(ids(bEvents.messages)).toEqual(range(1, 10).map((i) => `exec-${i}`));
    expect(link.bToA.written).toEqual([
      { type: "resend_request", seq: 1, from: 2, to: 3 },
      { type: "resend_request", seq: 2, from: 7, to: 7 },
    ]);
    expect(a.stats.framesResent).toBe(3);
    expect(b.stats).toMatchObject({ duplicatesDropped: 0, resendRequestsSent: 2, held: 0 });
    expect(bEvents.errors).toEqual([]);
  });

  it("holds frames after a gap until the resend arrives", () => {
    pair = channelPair(NO_HEARTBEAT);
    const { a, b, link, bEvents } = pair;
    // The resend request is held in flight, so the gap stays open for a while.
    link.aToB.drop = (m) => m.seq === 1 && m.type === "cancel" && link.bToA.written.length === 0;
    link.bToA.hold();
    for (const i of range(1, 4)) a.send(cancel(i));
    expect(bEvents.messages).toEqual([]);
    expect(b.stats.held).toBe(3);
    link.bToA.release();
    expect(ids(bEvents.messages)).toEqual(["exec-1", "exec-2", "exec-3", "exec-4"]);
    expect(b.stats.held).toBe(0);
  });

  it("drops duplicates silently and counts them", () => {
    pair = channelPair(NO_HEARTBEAT);
    const { a, b, bEvents } = pair;
    for (const i of range(1, 3)) a.send(cancel(i));
    // A spurious resend request makes the sender repeat frames the receiver has.
    b.send({ type: "resend_request", from: 1, to: 3 });
    expect(a.stats.framesResent).toBe(3);
    expect(ids(bEvents.messages)).toEqual(["exec-1", "exec-2", "exec-3"]);
    expect(b.stats.duplicatesDropped).toBe(3);
    expect(bEvents.errors).toEqual([]);
  });

  it("answers a resend request older than its buffer with a clear error on both sides", () => {
    pair = channelPair({ ...NO_HEARTBEAT, resendBufferFrames: 2 });
    const { a, link, aEvents, bEvents } = pair;
    link.aToB.drop = (m) => m.seq === 1;
    link.aToB.hold();
    for (const i of range(1, 5)) a.send(cancel(i));
    link.aToB.release();

    expect(aEvents.errors).toHaveLength(1);
    expect(aEvents.errors[0]).toBeInstanceOf(ProtocolError);
    expect(aEvents.errors[0]?.code).toBe("PROTOCOL_RESEND_UNAVAILABLE");
    expect(aEvents.errors[0]?.message).toContain("1..1");
    const sentError = link.aToB.written.find((m) => m.type === "error");
    expect(sentError).toMatchObject({ code: "PROTOCOL_RESEND_UNAVAILABLE", name: "ProtocolError" });

    // The receiver reports exactly what was lost and delivers the rest, in order.
    expect(bEvents.errors.map((e) => e.code)).toEqual(["PROTOCOL_RESEND_UNAVAILABLE"]);
    expect(bEvents.errors[0]?.message).toContain("frames 1..1");
    expect(ids(bEvents.messages)).toEqual(["exec-2", "exec-3", "exec-4", "exec-5"]);
  });

  it("reports a lost gap when too many frames are held after it", () => {
    pair = channelPair({ ...NO_HEARTBEAT, maxHeldFrames: 3 });
    const { a, link, bEvents } = pair;
    link.aToB.drop = (m) => m.seq === 1;
    link.bToA.drop = () => true; // resend requests never reach the sender
    for (const i of range(1, 5)) a.send(cancel(i));
    expect(bEvents.errors.map((e) => e.code)).toEqual(["PROTOCOL_RESEND_UNAVAILABLE"]);
    expect(ids(bEvents.messages)).toEqual(["exec-2", "exec-3", "exec-4", "exec-5"]);
  });

  it("asks again for a gap whose resend request was lost, after the grace period", () => {
    pair = channelPair({ ...NO_HEARTBEAT, graceMs: 3000 });
    const { a, b, clock, link, bEvents } = pair;
    link.aToB.drop = (m) => m.seq === 2 && m.type === "cancel" && a.stats.framesResent === 0;
    let requestsLost = 0;
    link.bToA.drop = (m) => m.type === "resend_request" && requestsLost++ === 0;
    a.send(cancel(1));
    a.send(cancel(2));
    a.send(cancel(3));
    expect(ids(bEvents.messages)).toEqual(["exec-1"]);
    clock.advance(2999);
    a.send(cancel(4)); // too soon to ask again
    expect(b.stats.resendRequestsSent).toBe(1);
    clock.advance(1);
    a.send(cancel(5));
    expect(b.stats.resendRequestsSent).toBe(2);
    expect(ids(bEvents.messages)).toEqual(range(1, 5).map((i) => `exec-${i}`));
  });

  it("delivers a frame without seq as it arrives (a peer that does not sequence)", () => {
    const link = createMemoryLink();
    const channel = new ProtocolChannel(link.a, NO_HEARTBEAT);
    const events = record(channel);
    link.a.receive(encodeFrame(SAMPLES.output));
    expect(events.messages).toEqual([SAMPLES.output]);
    channel.close();
  });

  it("surfaces a malformed frame as an error event, then closes", () => {
    const link = createMemoryLink();
    const channel = new ProtocolChannel(link.a, NO_HEARTBEAT);
    const events = record(channel);
    const good = encodeFrame({ ...SAMPLES.output, seq: 1 });
    const bad = new Uint8Array([0, 0, 0, 1, 0xc1]);
    const chunk = new Uint8Array(good.byteLength + bad.byteLength);
    chunk.set(good);
    chunk.set(bad, good.byteLength);
    link.a.receive(chunk);
    expect(events.messages).toEqual([{ ...SAMPLES.output, seq: 1 }]);
    expect(events.errors.map((e) => e.code)).toEqual(["PROTOCOL_MALFORMED_FRAME"]);
    expect(events.closed).toBe(1);
    expect(channel.closed).toBe(true);
    expect(() => channel.send(cancel(1))).toThrow(/closed/);
  });

  it("rejects sends after close with PROTOCOL_CLOSED and closes when the stream closes", () => {
    pair = channelPair(NO_HEARTBEAT);
    const { a, b, aEvents, bEvents } = pair;
    a.close();
    expect(aEvents.closed).toBe(1);
    expect(bEvents.closed).toBe(1);
    expect(b.closed).toBe(true);
    try {
      a.send(cancel(1));
      expect.unreachable();
    } catch (error) {
      expect((error as ProtocolError).code).toBe("PROTOCOL_CLOSED");
    }
    a.close();
    expect(aEvents.closed).toBe(1);
  });

  it("does not use up a sequence number for a message that cannot be encoded", () => {
    pair = channelPair(NO_HEARTBEAT);
    const { a, bEvents } = pair;
    expect(() => a.send({ ...SAMPLES.result, value: Symbol("x") })).toThrow(ProtocolError);
    expect(a.send(cancel(1))).toBe(1);
    expect(bEvents.errors).toEqual([]);
    expect(ids(bEvents.messages)).toEqual(["exec-1"]);
  });
});
