// The daily sequence reset (a durable timer) and the missed-reset catch-up at start.
import { describe, expect, it } from "vitest";
import type { Capsule } from "../../durable/index.ts";
import { Tag } from "../../examples/fix/codec.ts";
import { FixInitiator } from "../../examples/fix/initiator.ts";
import { openSession } from "../../examples/fix/open-session.ts";
import {
  DailyReset,
  lastResetAtOrBefore,
  nextResetAfter,
  parseResetTime,
  registerResetTimer,
} from "../../examples/fix/reset.ts";
import {
  EventLog,
  openCapsule,
  removeDir,
  sendOrder,
  startPeer,
  tempDir,
  useCleanups,
} from "./harness.ts";

const cleanups = useCleanups();

function storeDir(): string {
  const dir = tempDir("reset");
  cleanups.push(() => removeDir(dir));
  return dir;
}

/** "HH:MM:SS" UTC of `ms`. */
const timeOfDay = (ms: number) => new Date(ms).toISOString().slice(11, 19);

describe("reset schedule arithmetic", () => {
  const noon = Date.UTC(2026, 11, 1, 12, 0, 0);
  it("finds the last and next reset times, across midnight", () => {
    expect(lastResetAtOrBefore(noon, "17:00:00")).toBe(Date.UTC(2026, 10, 30, 17, 0, 0));
    expect(lastResetAtOrBefore(noon, "12:00:00")).toBe(noon);
    expect(nextResetAfter(noon, "12:00:00")).toBe(Date.UTC(2026, 11, 2, 12, 0, 0));
    expect(nextResetAfter(noon, "00:00:30")).toBe(Date.UTC(2026, 11, 2, 0, 0, 30));
  });
  it("refuses a time that is not HH:MM:SS", () => {
    expect(() => parseResetTime("25:00:00")).toThrow(
      expect.objectContaining({ code: "FIX_INVALID_FIELD" }),
    );
    expect(() => parseResetTime("5pm")).toThrow(/HH:MM:SS/);
  });
});

describe("daily sequence reset", () => {
  it("a start after the reset time does the reset it missed, once", async () => {
    const dir = storeDir();
    const now = Date.now();
    const at = timeOfDay(now - 60 * 60 * 1000); // an hour ago
    // Yesterday's session: it began two days ago (an injected clock) and sent a message.
    const open = async (clock?: {
      now(): number;
      after(ms: number, fn: () => void): () => void;
    }) => {
      const capsule: Capsule = await openCapsule(dir);
      const timer = registerResetTimer(capsule);
      const session = await openSession(capsule, {
        role: "initiator",
        senderCompId: "BUY",
        targetCompId: "SELL",
        heartBtInt: 1,
        ...(clock === undefined ? {} : { clock }),
      });
      return { capsule, session, reset: new DailyReset({ timer, session, at }) };
    };
    const past = { now: () => now - 2 * 24 * 60 * 60 * 1000, after: () => () => {} };
    const first = await open(past);
    await sendOrder(first.session, "yesterday"); // stored (not connected)
    expect(first.session.sequence).toMatchObject({ epoch: 1, nextOut: 2 });
    await first.capsule.close();

    const second = await open();
    expect(second.session.sequence).toMatchObject({ epoch: 1, nextOut: 2 });
    expect(await second.reset.catchUp()).toBe(true);
    expect(second.session.sequence).toMatchObject({ epoch: 2, nextIn: 1, nextOut: 1 });
    await second.capsule.close();

    const third = await open();
    expect(third.session.sequence).toMatchObject({ epoch: 2, nextOut: 1 });
    expect(await third.reset.catchUp()).toBe(false);
    await third.capsule.close();
  });

  it("resets at the scheduled time through a durable timer; jspurefix accepts the new numbers", async () => {
    const peer = await startPeer({
      role: "acceptor",
      senderCompId: "SELL",
      targetCompId: "BUY",
      heartBtInt: 1,
    });
    cleanups.push(() => peer.stop());
    const capsule = await openCapsule(storeDir());
    cleanups.push(() => capsule.close());
    const timer = registerResetTimer(capsule);
    const log = new EventLog();
    const session = await openSession(capsule, {
      role: "initiator",
      senderCompId: "BUY",
      targetCompId: "SELL",
      heartBtInt: 1,
      onEvent: log.listener,
    });
    const initiator = new FixInitiator(session, { port: peer.port });
    const running = initiator.run();
    cleanups.push(async () => {
      await initiator.stop();
      await running;
    });
    await log.next((e) => e.type === "logged-on");
    await sendOrder(session, "before-reset");
    const beforeReset = session.sequence.nextOut;
    expect(beforeReset).toBeGreaterThan(2);
    // Two seconds from now, rounded up to a whole second (the schedule's resolution).
    const resetAt = Math.ceil((Date.now() + 2000) / 1000) * 1000;
    const daily = new DailyReset({ timer, session, at: timeOfDay(resetAt) });
    const resetting = daily.run(() => initiator.resetSequence());
    // Its next timer is a day away: stop() ends the loop, closing the store ends the wait.
    void resetting.catch(() => {});
    cleanups.push(() => daily.stop());
    await log.next((e) => e.type === "reset");
    expect(Date.now()).toBeGreaterThanOrEqual(resetAt);
    const mark = log.events.length;
    await log.next((e) => e.type === "logged-on", mark);
    // The logout came first, then a Logon with MsgSeqNum 1 and ResetSeqNumFlag=Y.
    const logons = peer.messages.filter((m) => m.direction === "in" && m.msgType === "A");
    const last = logons.at(-1);
    expect(last?.fields.get(Tag.MsgSeqNum)).toBe("1");
    expect(last?.fields.get(Tag.ResetSeqNumFlag)).toBe("Y");
    expect(peer.messages.some((m) => m.direction === "in" && m.msgType === "5")).toBe(true);
    expect(session.sequence.epoch).toBe(2);
    const seq = await sendOrder(session, "after-reset");
    expect(seq).toBe(2);
    const order = await peer.next(
      (m) => m.direction === "in" && m.fields.get(Tag.ClOrdID) === "after-reset",
    );
    expect(order.fields.get(Tag.MsgSeqNum)).toBe("2");
    expect(peer.messages.filter((m) => m.direction === "out" && m.msgType === "3")).toEqual([]);
  });
});
