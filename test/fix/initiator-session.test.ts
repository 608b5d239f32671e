// Our session as the initiator, jspurefix as the acceptor on 127.0.0.1 port 0.
import { describe, expect, it } from "vitest";
import type { Capsule } from "../../durable/index.ts";
import { MsgType, Tag } from "../../examples/fix/codec.ts";
import { FixInitiator } from "../../examples/fix/initiator.ts";
import { openSession } from "../../examples/fix/open-session.ts";
import type { Faults, FixSession } from "../../examples/fix/session.ts";
import {
  EventLog,
  isReceived,
  isSent,
  openCapsule,
  removeDir,
  sendOrder,
  startPeer,
  tempDir,
  useCleanups,
} from "./harness.ts";
import type { JspurefixPeer } from "./jspurefix-peer.ts";

const cleanups = useCleanups();

interface Setup {
  peer: JspurefixPeer;
  capsule: Capsule;
  session: FixSession;
  initiator: FixInitiator;
  log: EventLog;
  running: Promise<void>;
}

async function setup(faults: Faults = {}, heartBtInt = 1): Promise<Setup> {
  const peer = await startPeer({
    role: "acceptor",
    senderCompId: "SELL",
    targetCompId: "BUY",
    heartBtInt,
  });
  cleanups.push(() => peer.stop());
  const dir = tempDir("initiator");
  cleanups.push(() => removeDir(dir));
  const capsule = await openCapsule(dir);
  cleanups.push(() => capsule.close());
  const log = new EventLog();
  const session = await openSession(capsule, {
    role: "initiator",
    senderCompId: "BUY",
    targetCompId: "SELL",
    heartBtInt,
    onEvent: log.listener,
    faults,
  });
  const initiator = new FixInitiator(session, { port: peer.port });
  const running = initiator.run();
  cleanups.push(async () => {
    await initiator.stop();
    await running;
  });
  await log.next((e) => e.type === "logged-on");
  return { peer, capsule, session, initiator, log, running };
}

describe("FIX initiator against jspurefix", () => {
  it("logs on with HeartBtInt, EncryptMethod 0 and ResetSeqNumFlag on a fresh session", async () => {
    const { peer, session } = await setup();
    const logon = await peer.next((m) => m.direction === "in" && m.msgType === "A");
    expect(logon.fields.get(Tag.HeartBtInt)).toBe("1");
    expect(logon.fields.get(Tag.EncryptMethod)).toBe("0");
    expect(logon.fields.get(Tag.ResetSeqNumFlag)).toBe("Y");
    expect(logon.fields.get(Tag.MsgSeqNum)).toBe("1");
    await peer.next((m) => m.direction === "out" && m.msgType === "A");
    expect(session.sequence).toMatchObject({ nextIn: 2, nextOut: 2 });
  });

  it("sends a Heartbeat only after a whole idle interval, never while it is sending", async () => {
    const { session, log } = await setup();
    // Idle: three heartbeats, each at least one interval after what we sent before it.
    const from = log.events.length;
    for (let i = 0; i < 3; i++) await log.next(isSent(MsgType.Heartbeat), log.events.length);
    const idle = log.sent().filter((m) => m.at >= (log.events[from]?.at ?? 0));
    for (let i = 1; i < idle.length; i++) {
      const previous = idle[i - 1];
      const current = idle[i];
      if (current?.msgType === "0" && previous !== undefined) {
        expect(current.at - previous.at).toBeGreaterThanOrEqual(995);
      }
    }
    // Busy: an order every 400 ms (less than the interval) for 2.4 s, and no heartbeat.
    const busyFrom = log.sent().length;
    for (let i = 0; i < 6; i++) {
      await sendOrder(session, `busy-${i}`);
      await new Promise((resolve) => setTimeout(resolve, 400)); // paces the orders; asserts nothing
    }
    const busy = log.sent().slice(busyFrom);
    expect(busy.filter((m) => m.msgType === "D")).toHaveLength(6);
    expect(busy.filter((m) => m.msgType === "0")).toEqual([]);
  });

  it("answers jspurefix's TestRequest with a Heartbeat carrying its TestReqID", async () => {
    // Our idle heartbeats are lost on the way: jspurefix hears nothing and asks.
    let mute = false;
    const { peer } = await setup({
      dropOutbound: (m) =>
        mute && m.msgType === MsgType.Heartbeat && m.get(Tag.TestReqID) === undefined,
    });
    mute = true;
    const request = await peer.next((m) => m.direction === "out" && m.msgType === "1");
    const id = request.fields.get(Tag.TestReqID);
    expect(id).toBeDefined();
    await peer.next(
      (m) => m.direction === "in" && m.msgType === "0" && m.fields.get(Tag.TestReqID) === id,
    );
  });

  it("sends a TestRequest when jspurefix is silent, disconnects when it goes unanswered, and logs on again", async () => {
    // Everything from jspurefix is lost: silence, then an unanswered TestRequest.
    let deaf = false;
    const { peer, log, session } = await setup({ dropInbound: () => deaf });
    const before = session.sequence.nextOut;
    deaf = true;
    const ours = await log.next(isSent(MsgType.TestRequest));
    const id = ours.type === "sent" ? ours.message.get(Tag.TestReqID) : undefined;
    await peer.next(
      (m) => m.direction === "in" && m.msgType === "1" && m.fields.get(Tag.TestReqID) === id,
    );
    // jspurefix did answer; we never heard it.
    await peer.next(
      (m) => m.direction === "out" && m.msgType === "0" && m.fields.get(Tag.TestReqID) === id,
    );
    const ended = await log.next((e) => e.type === "ended");
    expect(ended).toMatchObject({ reason: "peer silent: TestRequest unanswered" });
    const mark = log.events.length;
    deaf = false;
    const again = await log.next((e) => e.type === "logged-on", mark);
    // Reconnected without a reset: the numbers continue, and jspurefix accepted them.
    if (again.type !== "logged-on") throw new Error("unreachable");
    expect(again.nextOut).toBeGreaterThan(before + 1);
    const logons = peer.messages.filter((m) => m.direction === "in" && m.msgType === "A");
    // (jspurefix may refuse the first attempt while it still holds the dead connection.)
    expect(logons.length).toBeGreaterThanOrEqual(2);
    for (const logon of logons.slice(1)) {
      expect(logon.fields.get(Tag.ResetSeqNumFlag)).toBeUndefined();
    }
    expect(peer.messages.filter((m) => m.direction === "out" && m.msgType === "5")).toEqual([]);
  });

  it("a dropped order makes jspurefix ask for a resend; it gets the order PossDup and gap fills over admin", async () => {
    let dropNext = false;
    const { peer, session, log } = await setup({
      dropOutbound: (m) => {
        if (!dropNext) return false;
        dropNext = m.msgType !== MsgType.NewOrderSingle;
        return true;
      },
    });
    // Lose exactly the first order and nothing else.
    dropNext = true;
    await sendOrder(session, "lost-1");
    await sendOrder(session, "after-1");
    const request = await peer.next((m) => m.direction === "out" && m.msgType === "2");
    const answered = await log.next((e) => e.type === "resend-answered");
    expect(answered).toMatchObject({ type: "resend-answered" });
    const lost = await peer.next(
      (m) => m.direction === "in" && m.msgType === "D" && m.fields.get(Tag.ClOrdID) === "lost-1",
    );
    expect(lost.fields.get(Tag.PossDupFlag)).toBe("Y");
    expect(lost.fields.get(Tag.OrigSendingTime)).toMatch(/^\d{8}-/);
    expect(Number(request.fields.get(Tag.BeginSeqNo))).toBe(Number(lost.fields.get(Tag.MsgSeqNum)));
    // The range asked for ended with admin messages (our ResendRequest-free tail: the
    // order after and any heartbeat): everything admin in it was gap-filled, not resent.
    const resent = peer.messages.filter(
      (m) => m.direction === "in" && m.fields.get(Tag.PossDupFlag) === "Y",
    );
    expect(resent.filter((m) => m.msgType !== "D" && m.msgType !== "4")).toEqual([]);
    // jspurefix now expects exactly our next number: a fresh order is accepted in order.
    const seq = await sendOrder(session, "in-order");
    await peer.next((m) => m.direction === "in" && m.fields.get(Tag.ClOrdID) === "in-order");
    const heartbeat = await peer.next(
      (m) => m.direction === "in" && m.msgType === "0",
      peer.messages.length,
    );
    expect(Number(heartbeat.fields.get(Tag.MsgSeqNum))).toBeGreaterThan(seq);
    expect(peer.messages.filter((m) => m.direction === "out" && m.msgType === "5")).toEqual([]);
  });

  it("gap-fills over administrative messages instead of resending them", async () => {
    let drop = 0;
    const { peer, log } = await setup({
      dropOutbound: (m) => drop > 0 && m.msgType === MsgType.Heartbeat && drop-- > 0,
    });
    drop = 2; // lose two heartbeats; the next one reveals the gap
    const request = await peer.next((m) => m.direction === "out" && m.msgType === "2");
    const fill = await peer.next((m) => m.direction === "in" && m.msgType === "4");
    expect(fill.fields.get(Tag.GapFillFlag)).toBe("Y");
    expect(fill.fields.get(Tag.PossDupFlag)).toBe("Y");
    expect(fill.fields.get(Tag.MsgSeqNum)).toBe(request.fields.get(Tag.BeginSeqNo));
    const answered = await log.next((e) => e.type === "resend-answered");
    expect(answered).toMatchObject({ resent: [] });
    expect(
      peer.messages.filter(
        (m) => m.direction === "in" && m.msgType === "0" && m.fields.get(Tag.PossDupFlag) === "Y",
      ),
    ).toEqual([]);
    expect(peer.messages.filter((m) => m.direction === "out" && m.msgType === "5")).toEqual([]);
  });

  it("detects a gap in jspurefix's messages, asks for a resend, and queues what arrived early", async () => {
    let dropped = 0;
    const { peer, session, log } = await setup({
      // Lose jspurefix's next heartbeat on its way to us.
      dropInbound: (m) => dropped === 0 && m.msgType === MsgType.Heartbeat && ++dropped === 1,
    });
    const gap = await log.next((e) => e.type === "gap");
    expect(gap).toMatchObject({ type: "gap" });
    if (gap.type !== "gap") throw new Error("unreachable");
    const request = await peer.next((m) => m.direction === "in" && m.msgType === "2");
    expect(Number(request.fields.get(Tag.BeginSeqNo))).toBe(gap.expected);
    // jspurefix gap-fills its heartbeat; we end up expecting the number after the last one.
    await peer.next((m) => m.direction === "out" && m.msgType === "4");
    await log.next(isReceived(MsgType.Heartbeat), log.events.length);
    const lastOut = peer.messages.filter((m) => m.direction === "out").at(-1);
    expect(session.sequence.nextIn).toBeGreaterThan(Number(lastOut?.fields.get(Tag.MsgSeqNum)) - 1);
    expect(peer.messages.filter((m) => m.direction === "out" && m.msgType === "5")).toEqual([]);
  });
});
