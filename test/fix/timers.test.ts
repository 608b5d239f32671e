// Heartbeat and TestRequest timing under an injected clock: hours of session time, no
// waiting. The counterparty is played by the test over an in-memory transport.
import { describe, expect, it } from "vitest";
import {
  encodeMessage,
  type FixField,
  type FixMessage,
  fixTimestamp,
  MsgType,
  Tag,
} from "../../examples/fix/codec.ts";
import { openSession } from "../../examples/fix/open-session.ts";
import { FixParser } from "../../examples/fix/parser.ts";
import type { FixSession } from "../../examples/fix/session.ts";
import { openCapsule, removeDir, tempDir, useCleanups } from "./harness.ts";
import { ManualClock } from "./manual-clock.ts";

const cleanups = useCleanups();

/** Our acceptor session with HeartBtInt 30, logged on by a scripted counterparty. */
async function loggedOn() {
  const dir = tempDir("timers");
  cleanups.push(() => removeDir(dir));
  const capsule = await openCapsule(dir);
  cleanups.push(() => capsule.close());
  const clock = new ManualClock();
  let onLoggedOn: () => void = () => {};
  const receivedWaiters: (() => void)[] = [];
  /** Resolves when the session has taken in the next message the counterparty sends. */
  const nextReceived = () => new Promise<void>((resolve) => receivedWaiters.push(resolve));
  const loggedOnEvent = new Promise<void>((resolve) => {
    onLoggedOn = resolve;
  });
  const session: FixSession = await openSession(capsule, {
    role: "acceptor",
    senderCompId: "SELL",
    targetCompId: "BUY",
    heartBtInt: 30,
    clock,
    onEvent: (event) => {
      if (event.type === "logged-on") onLoggedOn();
      if (event.type === "received") for (const wake of receivedWaiters.splice(0)) wake();
    },
  });
  const written: { at: number; message: FixMessage }[] = [];
  const waiters: (() => void)[] = [];
  let closed = false;
  void session.connect({
    write: (raw) => {
      for (const e of new FixParser().push(raw)) {
        if (e.kind === "message") written.push({ at: clock.now(), message: e.message });
      }
      for (const wake of waiters.splice(0)) wake();
    },
    close: () => {
      closed = true;
      session.disconnected("closed by the session");
    },
  });
  let seq = 1;
  const peerSends = (msgType: string, fields: FixField[] = []) =>
    session.receiveBytes(
      encodeMessage([
        [Tag.MsgType, msgType],
        [Tag.SenderCompID, "BUY"],
        [Tag.TargetCompID, "SELL"],
        [Tag.MsgSeqNum, String(seq++)],
        [Tag.SendingTime, fixTimestamp(clock.now())],
        ...fields,
      ]),
    );
  /** Waits until we have written `count` messages in all. */
  const writtenCount = async (count: number) => {
    while (written.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
    return written;
  };
  peerSends(MsgType.Logon, [
    [Tag.EncryptMethod, "0"],
    [Tag.HeartBtInt, "30"],
  ]);
  await writtenCount(1);
  await loggedOnEvent;
  return { session, clock, written, writtenCount, peerSends, nextReceived, isClosed: () => closed };
}

const types = (list: { message: FixMessage }[]) => list.map((w) => w.message.msgType);

describe("session timers (injected clock)", () => {
  it("sends a Heartbeat only after 30 s with nothing sent, and never while it is sending", async () => {
    const { session, clock, writtenCount, written, peerSends } = await loggedOn();
    const start = clock.now();
    // Keep the counterparty talking so silence never triggers a TestRequest.
    clock.advance(29_999);
    peerSends(MsgType.Heartbeat);
    expect(types(written)).toEqual(["A"]);
    clock.advance(1);
    await writtenCount(2);
    expect(written[1]?.message.msgType).toBe("0");
    expect((written[1]?.at ?? 0) - start).toBe(30_000);
    // An application message every 20 s for two minutes: no heartbeat among them.
    for (let i = 0; i < 6; i++) {
      clock.advance(20_000);
      peerSends(MsgType.Heartbeat);
      await session.sendApplication(MsgType.ExecutionReport, [[Tag.ExecID, `x-${i}`]]);
    }
    expect(types(written.slice(2))).toEqual(["8", "8", "8", "8", "8", "8"]);
    // Idle again: the next heartbeat comes exactly 30 s after the last report.
    const lastReport = written.at(-1)?.at ?? 0;
    clock.advance(30_000);
    await writtenCount(9);
    expect(written[8]?.message.msgType).toBe("0");
    expect((written[8]?.at ?? 0) - lastReport).toBe(30_000);
  });

  it("sends a TestRequest after 36 s of silence, and ends the session when one goes unanswered", async () => {
    const { clock, writtenCount, written, peerSends, nextReceived, isClosed } = await loggedOn();
    const start = clock.now();
    clock.advance(36_000);
    await writtenCount(3);
    // Our idle heartbeat at 30 s, then the TestRequest at 36 s (interval + 20%).
    expect(types(written)).toEqual(["A", "0", "1"]);
    expect((written[2]?.at ?? 0) - start).toBe(36_000);
    const answered = nextReceived();
    peerSends(MsgType.Heartbeat, [[Tag.TestReqID, written[2]?.message.get(Tag.TestReqID) ?? ""]]);
    await answered;
    // Answered: alive 36 s later, with only our own idle heartbeat (at 66 s) in between.
    clock.advance(35_999);
    await writtenCount(4);
    expect(types(written.slice(3))).toEqual(["0"]);
    expect(isClosed()).toBe(false);
    // Silent again for a whole 36 s: a second TestRequest…
    clock.advance(1);
    await writtenCount(5);
    expect(written[4]?.message.msgType).toBe("1");
    expect(isClosed()).toBe(false);
    // …unanswered for 36 s more: the session ends.
    clock.advance(36_000);
    expect(isClosed()).toBe(true);
  });
});
