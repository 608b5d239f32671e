/**
 * What a channel refuses from a peer as a `PROTOCOL_VIOLATION` (then it closes): frames
 * no honest peer can send. Driven by a fake clock and raw bytes, so timing is exact.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type ChannelOptions, ProtocolChannel } from "../../src/protocol/channel.ts";
import { encodeFrame } from "../../src/protocol/frame.ts";
import type { Message } from "../../src/protocol/messages.ts";
import { record } from "./channel-harness.ts";
import { FakeClock } from "./fake-clock.ts";
import { createMemoryLink } from "./memory-link.ts";

const HEARTBEAT = { memory_usage: 1, cpu_percent: 0, namespace_size: 0 };
const open: ProtocolChannel[] = [];
afterEach(() => {
  for (const channel of open.splice(0)) channel.close();
});

/** A channel under test, fed raw bytes by `receive`; what it sends is in `sent`. */
function receiver(options: ChannelOptions = {}) {
  const clock = new FakeClock();
  const link = createMemoryLink();
  const channel = new ProtocolChannel(link.a, {
    heartbeatIntervalMs: 0,
    heartbeatFields: () => HEARTBEAT,
    ...options,
    clock,
  });
  open.push(channel);
  const events = record(channel);
  return {
    clock,
    channel,
    events,
    sent: link.aToB.written,
    receive: (message: Message) => link.a.receive(encodeFrame(message)),
    receiveBytes: (bytes: Uint8Array) => link.a.receive(bytes),
    codes: () => events.errors.map((error) => error.code),
  };
}

describe("violations on any transport", () => {
  it("a sequence number beyond any resend window", () => {
    const peer = receiver({ maxGapFrames: 100 });
    peer.receive({ type: "cancel", execution_id: "a", seq: 1 });
    peer.receive({ type: "cancel", execution_id: "b", seq: 102 }); // a gap of 100: allowed
    expect(peer.codes()).toEqual([]);
    peer.receive({ type: "cancel", execution_id: "c", seq: 1e9 });
    expect(peer.codes()).toEqual(["PROTOCOL_VIOLATION"]);
    expect(peer.events.errors[0]?.message).toMatch(/sequence number 1000000000/);
    expect(peer.channel.closed).toBe(true);
  });

  it("a resend request for frames never sent", () => {
    const peer = receiver();
    peer.channel.send({ type: "cancel", execution_id: "x" });
    peer.receive({ type: "resend_request", seq: 1, from: 1, to: 1 }); // honest
    expect(peer.codes()).toEqual([]);
    peer.receive({ type: "resend_request", seq: 2, from: 1, to: 5 });
    expect(peer.codes()).toEqual(["PROTOCOL_VIOLATION"]);
    expect(peer.events.errors[0]?.message).toMatch(/frames sent so far are 1\.\.1/);
  });

  it("a heartbeat answering a test request never sent", () => {
    const peer = receiver();
    peer.receive({ type: "heartbeat", seq: 1, ...HEARTBEAT, test_id: "1" });
    expect(peer.codes()).toEqual(["PROTOCOL_VIOLATION"]);
  });

  it("keeps duplicates and small gaps the resend machinery's business", () => {
    const peer = receiver();
    peer.receive({ type: "cancel", execution_id: "a", seq: 1 });
    peer.receive({ type: "cancel", execution_id: "a", seq: 1 });
    peer.receive({ type: "cancel", execution_id: "c", seq: 3 });
    expect(peer.codes()).toEqual([]);
    expect(peer.sent.map((message) => message.type)).toEqual(["resend_request"]);
  });
});

describe("violations on an ordered transport (a pipe)", () => {
  const ordered = { orderedTransport: true };

  it("any sequence number but the next one, and a frame without one", () => {
    for (const seq of [3, 1, 0, undefined]) {
      const peer = receiver(ordered);
      peer.receive({ type: "cancel", execution_id: "a", seq: 1 });
      peer.receive({ type: "cancel", execution_id: "b", ...(seq === undefined ? {} : { seq }) });
      expect(peer.codes()).toEqual(["PROTOCOL_VIOLATION"]);
      expect(peer.events.messages).toHaveLength(1);
      expect(peer.sent).toEqual([]); // no resend request: nothing was lost
    }
  });

  it("stops decoding the rest of a chunk after a violation", () => {
    const peer = receiver(ordered);
    const frames = [3, 2].map((seq) => encodeFrame({ type: "cancel", execution_id: "x", seq }));
    peer.receiveBytes(Buffer.concat(frames));
    expect(peer.codes()).toEqual(["PROTOCOL_VIOLATION"]);
    expect(peer.events.messages).toEqual([]);
  });

  it("a forged length that swallows the answer to a test request", () => {
    const peer = receiver({ ...ordered, heartbeatIntervalMs: 100, graceMs: 50 });
    peer.channel.watchPeer(false); // a host does not judge a worker running a cell by silence
    peer.receive({ type: "cancel", execution_id: "a", seq: 1 });
    peer.receiveBytes(new Uint8Array([0, 0x10, 0, 0, 0x81])); // announces 1 MiB
    peer.clock.advance(150); // no frame for interval + grace: a test request goes out
    expect(peer.sent.filter((message) => message.type === "test_request")).toHaveLength(1);
    // The peer answers, and its answer vanishes into the unfinished frame.
    peer.receiveBytes(encodeFrame({ type: "heartbeat", seq: 2, ...HEARTBEAT, test_id: "1" }));
    peer.clock.advance(50);
    expect(peer.codes()).toEqual(["PROTOCOL_VIOLATION"]);
    expect(peer.events.errors[0]?.message).toMatch(/without completing a frame/);
    expect(peer.events.dead).toEqual([]);
  });

  it("the same finding when the peer watch, not the stall watch, runs out first", () => {
    const peer = receiver({ ...ordered, heartbeatIntervalMs: 100, graceMs: 50 });
    peer.receiveBytes(new Uint8Array([0, 0x10, 0, 0, 0x81]));
    peer.clock.advance(150); // both watches send a test request
    peer.receiveBytes(encodeFrame({ type: "heartbeat", seq: 1, ...HEARTBEAT, test_id: "1" }));
    peer.clock.advance(50);
    expect(peer.codes()).toEqual(["PROTOCOL_VIOLATION"]);
    expect(peer.events.dead).toEqual([]);
  });

  it("a silent peer on a pipe is still dead, not a violation", () => {
    const peer = receiver({ ...ordered, heartbeatIntervalMs: 100, graceMs: 50 });
    peer.receiveBytes(new Uint8Array([0, 0x10, 0, 0, 0x81])); // then nothing
    peer.clock.advance(200);
    expect(peer.codes()).toEqual([]);
    expect(peer.events.dead.map((error) => error.code)).toEqual(["PROTOCOL_PEER_DEAD"]);
  });

  it("does not call a big frame that is still arriving, or a silent peer, a violation", () => {
    const peer = receiver({ ...ordered, heartbeatIntervalMs: 100, graceMs: 50 });
    peer.channel.watchPeer(false);
    const big = encodeFrame({ type: "cancel", execution_id: "x".repeat(200), seq: 1 });
    peer.receiveBytes(big.subarray(0, 10));
    peer.clock.advance(150); // test request
    peer.clock.advance(50); // no bytes since: a stopped peer, not a forged frame
    expect(peer.codes()).toEqual([]);
    peer.receiveBytes(big.subarray(10, 100));
    peer.clock.advance(150); // test request again
    peer.receiveBytes(big.subarray(100)); // the frame completes before the grace is out
    peer.clock.advance(50);
    expect(peer.codes()).toEqual([]);
    expect(peer.events.messages).toHaveLength(1);
  });
});
