/** Idle-only heartbeats and dead-peer detection, driven by a fake clock (no sleeping). */
import { afterEach, describe, expect, it } from "vitest";
import type { Heartbeat } from "../../src/protocol/messages.ts";
import { type ChannelPair, cancel, channelPair } from "./channel-harness.ts";

const TIMING = { heartbeatIntervalMs: 1000, graceMs: 3000 };

let pair: ChannelPair | undefined;
afterEach(() => {
  pair?.close();
  expect(pair?.clock.pendingTimers ?? 0).toBe(0);
  pair = undefined;
});

describe("heartbeats", () => {
  it("sends none while messages flow, one per idle interval afterwards", () => {
    pair = channelPair(TIMING);
    const { a, clock, link } = pair;
    for (let i = 0; i < 10; i++) {
      clock.advance(500);
      a.send(cancel(i));
    }
    expect(link.aToB.types()).not.toContain("heartbeat");

    // Idle since the last send: nothing at 999 ms, a heartbeat at 1000 ms.
    clock.advance(999);
    expect(link.aToB.types()).not.toContain("heartbeat");
    clock.advance(1);
    expect(link.aToB.types().filter((t) => t === "heartbeat")).toHaveLength(1);
    clock.advance(1000);
    expect(link.aToB.types().filter((t) => t === "heartbeat")).toHaveLength(2);
  });

  it("restarts the idle interval on every send instead of ticking on a fixed timer", () => {
    pair = channelPair(TIMING);
    const { a, clock, link } = pair;
    clock.advance(900);
    a.send(cancel(1));
    clock.advance(900); // 1800 ms since start, 900 ms since the send
    expect(link.aToB.types()).toEqual(["cancel"]);
    clock.advance(100);
    expect(link.aToB.types()).toEqual(["cancel", "heartbeat"]);
  });

  it("fills heartbeats from the caller's function and reports the peer's", () => {
    pair = channelPair({
      ...TIMING,
      heartbeatFields: () => ({ memory_usage: 123_456, cpu_percent: 42.5, namespace_size: 7 }),
    });
    const { b, clock } = pair;
    const seen: Heartbeat[] = [];
    b.on("heartbeat", (heartbeat) => seen.push(heartbeat));
    clock.advance(1000);
    expect(seen).toEqual([
      { type: "heartbeat", seq: 1, memory_usage: 123_456, cpu_percent: 42.5, namespace_size: 7 },
    ]);
    expect(b.lastPeerHeartbeat).toEqual(seen[0]);
    // Session-layer messages are not delivered as application messages.
    expect(pair.bEvents.messages).toEqual([]);
  });

  it("can be turned off: no timers, no heartbeats", () => {
    pair = channelPair({ heartbeatIntervalMs: 0 });
    const { clock, link } = pair;
    expect(clock.pendingTimers).toBe(0);
    clock.advance(3_600_000);
    expect(link.aToB.written).toEqual([]);
    expect(pair.aEvents.dead).toEqual([]);
  });
});

describe("an answering side (answerHeartbeats)", () => {
  const heartbeats = (types: string[]) => types.filter((type) => type === "heartbeat").length;

  it("sends its heartbeat in answer to each of the peer's, none on its own meanwhile", () => {
    // b answers; a leads. Out of phase on purpose: b's own send is 400 ms after a's start.
    pair = channelPair(TIMING, { ...TIMING, answerHeartbeats: true });
    const { clock, link, b } = pair;
    const answers: number[] = [];
    b.on("heartbeat", () => answers.push(link.bToA.types().length));
    clock.advance(400);
    b.send(cancel(1));
    clock.advance(9_600);
    // a heartbeats once a second (10 in all); b answered each at once, in the same turn.
    expect(heartbeats(link.aToB.types())).toBe(10);
    expect(heartbeats(link.bToA.types())).toBe(10);
    expect(answers).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => n + 1));
  });

  it("does not answer a heartbeat within half an interval of its own last send", () => {
    pair = channelPair(TIMING, { ...TIMING, answerHeartbeats: true });
    const { clock, link, b } = pair;
    clock.advance(700);
    b.send(cancel(1)); // 300 ms before a's first heartbeat
    clock.advance(300);
    expect(heartbeats(link.aToB.types())).toBe(1);
    expect(link.bToA.types()).toEqual(["cancel"]);
    clock.advance(1000);
    expect(link.bToA.types()).toEqual(["cancel", "heartbeat"]);
  });

  it("heartbeats on its own when the peer's stop coming, within five intervals", () => {
    pair = channelPair(TIMING, { ...TIMING, answerHeartbeats: true });
    const { a, clock, link } = pair;
    // a keeps sending messages, so it owes no heartbeats; b has nothing to answer.
    for (let i = 0; i < 40; i++) {
      clock.advance(250);
      a.send(cancel(i));
    }
    expect(heartbeats(link.aToB.types())).toBe(0);
    // 10 s of b's silence would be 10 heartbeats from a leading side, 2 from an answering one.
    expect(heartbeats(link.bToA.types())).toBe(2);
  });
});

describe("heartbeats on a grid (heartbeatGridMs)", () => {
  it("fires on multiples of the grid, at most one step late, so many channels share a wake-up", () => {
    pair = channelPair({ ...TIMING, heartbeatGridMs: 100 }, { ...TIMING, heartbeatIntervalMs: 0 });
    const { a, clock, link } = pair;
    const sentAt: number[] = [];
    const heartbeats = (): number =>
      link.aToB.types().filter((type) => type === "heartbeat").length;
    let seen = 0;
    clock.advance(130);
    a.send(cancel(1)); // idle from 130: due at 1,130, sent at the grid point 1,200
    for (let ms = 0; ms < 3000; ms += 10) {
      clock.advance(10);
      if (heartbeats() > seen) {
        seen = heartbeats();
        sentAt.push(clock.now());
      }
    }
    // Without the grid: 1,130 and 2,130.
    expect(sentAt).toEqual([1200, 2200]);
  });
});

describe("dead-peer detection", () => {
  it("sends a test request after interval + grace of silence, then declares the peer dead", () => {
    pair = channelPair(TIMING);
    const { clock, link, aEvents } = pair;
    link.bToA.drop = () => true; // the peer goes silent
    clock.advance(3999);
    expect(link.aToB.types()).not.toContain("test_request");
    clock.advance(1);
    expect(link.aToB.types()).toContain("test_request");

    clock.advance(2999);
    expect(aEvents.dead).toEqual([]);
    clock.advance(1);
    expect(aEvents.dead).toHaveLength(1);
    expect(aEvents.dead[0]?.code).toBe("PROTOCOL_PEER_DEAD");
    expect(aEvents.dead[0]?.message).toMatch(/silent for 7000 ms/);
    // Declared once, and the monitor stops.
    clock.advance(60_000);
    expect(aEvents.dead).toHaveLength(1);
  });

  it("does not watch a silent peer while paused, and watches again from the resume", () => {
    pair = channelPair(TIMING);
    const { a, clock, link, aEvents } = pair;
    link.bToA.drop = () => true; // the peer is busy and silent
    a.watchPeer(false);
    clock.advance(60_000);
    expect(link.aToB.types()).not.toContain("test_request");
    expect(aEvents.dead).toEqual([]);
    // Our own heartbeats kept going out meanwhile.
    expect(link.aToB.types().filter((t) => t === "heartbeat").length).toBeGreaterThan(50);

    a.watchPeer(true); // silence is counted from here, not from the pause
    clock.advance(3999);
    expect(link.aToB.types()).not.toContain("test_request");
    clock.advance(1 + 3000);
    expect(aEvents.dead).toHaveLength(1);
  });

  it("answers a test request with a heartbeat carrying its test_id", () => {
    // The peer sends no heartbeats of its own, so only the answer proves it alive.
    pair = channelPair(TIMING, { heartbeatIntervalMs: 0 });
    const { clock, link, aEvents } = pair;
    clock.advance(4000);
    const request = link.aToB.written.find((m) => m.type === "test_request");
    expect(request).toBeDefined();
    expect(link.bToA.written).toEqual([
      {
        type: "heartbeat",
        seq: 1,
        memory_usage: 1_000_000,
        cpu_percent: 1,
        namespace_size: 2,
        test_id: request?.type === "test_request" ? request.test_id : "missing",
      },
    ]);
    clock.advance(3000);
    expect(aEvents.dead).toEqual([]);
  });

  it("never suspects a peer whose messages keep arriving", () => {
    pair = channelPair(TIMING, { heartbeatIntervalMs: 0 });
    const { b, clock, link, aEvents } = pair;
    for (let i = 0; i < 20; i++) {
      clock.advance(3500);
      b.send(cancel(i));
    }
    expect(link.aToB.types()).not.toContain("test_request");
    expect(aEvents.dead).toEqual([]);
  });
});
