// Our acceptor with several CompIDs against jspurefix initiators; session-level
// refusals (Reject, MsgSeqNum too low) over a raw socket; bounded logon attempts.
import net from "node:net";
import { describe, expect, it } from "vitest";
import { FixAcceptor } from "../../examples/fix/acceptor.ts";
import {
  encodeMessage,
  type FixField,
  fixTimestamp,
  MsgType,
  Tag,
} from "../../examples/fix/codec.ts";
import { FixInitiator } from "../../examples/fix/initiator.ts";
import { openSession } from "../../examples/fix/open-session.ts";
import { FixParser } from "../../examples/fix/parser.ts";
import type { FixSession } from "../../examples/fix/session.ts";
import { EventLog, openCapsule, removeDir, startPeer, tempDir, useCleanups } from "./harness.ts";

const cleanups = useCleanups();

async function acceptorFor(
  targets: string[],
): Promise<{ port: number; sessions: FixSession[]; logs: EventLog[]; refused: Promise<string> }> {
  const dir = tempDir("acceptor");
  cleanups.push(() => removeDir(dir));
  const capsule = await openCapsule(dir);
  cleanups.push(() => capsule.close());
  const logs = targets.map(() => new EventLog());
  const sessions = await Promise.all(
    targets.map((target, i) =>
      openSession(capsule, {
        role: "acceptor",
        senderCompId: "SELL",
        targetCompId: target,
        heartBtInt: 1,
        onEvent: logs[i]?.listener,
      }),
    ),
  );
  let onRefused: (reason: string) => void = () => {};
  const refused = new Promise<string>((resolve) => {
    onRefused = resolve;
  });
  const acceptor = new FixAcceptor(sessions, { onRefused });
  const port = await acceptor.listen();
  cleanups.push(() => acceptor.close());
  return { port, sessions, logs, refused };
}

/** A hand-driven counterparty: a raw socket and our own codec. */
async function rawClient(port: number) {
  const socket = net.connect(port, "127.0.0.1");
  cleanups.push(() => {
    socket.destroy();
  });
  await new Promise((resolve) => socket.once("connect", resolve));
  const parser = new FixParser();
  const received: ReturnType<FixParser["push"]> = [];
  const waiters: (() => void)[] = [];
  socket.on("data", (chunk: Buffer) => {
    received.push(...parser.push(chunk));
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return {
    send(seq: number, msgType: string, fields: FixField[] = []) {
      socket.write(
        encodeMessage([
          [Tag.MsgType, msgType],
          [Tag.SenderCompID, "BUY"],
          [Tag.TargetCompID, "SELL"],
          [Tag.MsgSeqNum, String(seq)],
          [Tag.SendingTime, fixTimestamp(Date.now())],
          ...fields,
        ]),
      );
    },
    async next(msgType: string) {
      for (;;) {
        const found = received.find((e) => e.kind === "message" && e.message.msgType === msgType);
        if (found?.kind === "message") {
          received.splice(received.indexOf(found), 1);
          return found.message;
        }
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
    closed,
  };
}

describe("FIX acceptor", () => {
  it("serves several counterparties (CompIDs) at once, each with its own sequence numbers", async () => {
    const { port, sessions, refused } = await acceptorFor(["BUY", "BUY2"]);
    const peers = await Promise.all(
      ["BUY", "BUY2"].map(async (id) => {
        const peer = await startPeer({
          role: "initiator",
          senderCompId: id,
          targetCompId: "SELL",
          heartBtInt: 1,
          port,
        });
        cleanups.push(() => peer.stop());
        return peer;
      }),
    );
    for (const peer of peers) await peer.next((m) => m.direction === "in" && m.msgType === "A");
    // Both sessions are up; each peer heard from its own session only.
    for (const [i, peer] of peers.entries()) {
      const heartbeat = await peer.next((m) => m.direction === "in" && m.msgType === "0");
      expect(heartbeat.fields.get(Tag.TargetCompID)).toBe(i === 0 ? "BUY" : "BUY2");
    }
    expect(sessions.map((s) => s.state)).toEqual(["active", "active"]);
    // A CompID nobody configured is refused at once.
    const stranger = await startPeer({
      role: "initiator",
      senderCompId: "NOBODY",
      targetCompId: "SELL",
      heartBtInt: 1,
      port,
    });
    cleanups.push(() => stranger.stop());
    await stranger.next((m) => m.direction === "out" && m.msgType === "A");
    expect(await refused).toBe("no session NOBODY->SELL");
    expect(stranger.messages.some((m) => m.direction === "in")).toBe(false);
  });

  it("answers a malformed session message with Reject(3) and goes on", async () => {
    const { port, logs } = await acceptorFor(["BUY"]);
    const client = await rawClient(port);
    client.send(1, MsgType.Logon, [
      [Tag.EncryptMethod, "0"],
      [Tag.HeartBtInt, "30"],
    ]);
    await client.next(MsgType.Logon);
    client.send(2, MsgType.TestRequest); // no TestReqID(112)
    const reject = await client.next(MsgType.Reject);
    expect(reject.get(Tag.RefSeqNum)).toBe("2");
    expect(reject.get(Tag.RefTagID)).toBe("112");
    expect(reject.get(Tag.SessionRejectReason)).toBe("1");
    client.send(3, MsgType.TestRequest, [[Tag.TestReqID, "still-there"]]);
    const answer = await client.next(MsgType.Heartbeat);
    expect(answer.get(Tag.TestReqID)).toBe("still-there");
    expect(logs[0]?.events.some((e) => e.type === "ended")).toBe(false);
  });

  it("logs out a counterparty whose MsgSeqNum is too low without PossDupFlag", async () => {
    const { port, logs } = await acceptorFor(["BUY"]);
    const client = await rawClient(port);
    client.send(1, MsgType.Logon, [
      [Tag.EncryptMethod, "0"],
      [Tag.HeartBtInt, "30"],
    ]);
    await client.next(MsgType.Logon);
    client.send(2, MsgType.Heartbeat);
    client.send(2, MsgType.Heartbeat, [
      [Tag.PossDupFlag, "Y"],
      [Tag.OrigSendingTime, fixTimestamp(Date.now())],
    ]); // a duplicate: ignored
    client.send(1, MsgType.Heartbeat); // too low, not PossDup
    const logout = await client.next(MsgType.Logout);
    expect(logout.get(Tag.Text)).toBe("MsgSeqNum too low, expecting 3 but received 1");
    await client.closed;
    await logs[0]?.next((e) => e.type === "ended");
  });
});

describe("FIX initiator connection management", () => {
  it("stops for good with FIX_LOGON_ATTEMPTS_EXHAUSTED after the configured failed logons", async () => {
    // A port with nobody listening: every attempt is refused.
    const server = net.createServer();
    const port = await new Promise<number>((resolve) =>
      server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)),
    );
    await new Promise((resolve) => server.close(resolve));
    const dir = tempDir("exhausted");
    cleanups.push(() => removeDir(dir));
    const capsule = await openCapsule(dir);
    cleanups.push(() => capsule.close());
    const session = await openSession(capsule, {
      role: "initiator",
      senderCompId: "BUY",
      targetCompId: "SELL",
      heartBtInt: 1,
    });
    const attempts: number[] = [];
    const initiator = new FixInitiator(session, {
      port,
      maxLogonAttempts: 4,
      initialBackoffMs: 10,
      onAttempt: (n, error) => {
        if (error !== undefined) attempts.push(n);
      },
    });
    await expect(initiator.run()).rejects.toMatchObject({
      code: "FIX_LOGON_ATTEMPTS_EXHAUSTED",
      message: expect.stringMatching(
        /gave up after 4 failed logon attempts in a row .*ECONNREFUSED/,
      ),
    });
    expect(attempts).toEqual([1, 2, 3, 4]);
    expect(session.sequence.nextOut).toBe(1); // nothing was sent, nothing was stored
  });
});
