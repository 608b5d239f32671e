// kill -9 of our side mid-flow, against jspurefix: sequence numbers continue after the
// restart, jspurefix accepts them, and no order is lost or filled twice.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { Tag } from "../../examples/fix/codec.ts";
import {
  killHard,
  killJsonLinesChildren,
  startJsonLinesChild,
} from "../support/json-lines-child.ts";
import { removeDir, startPeer, tempDir, useCleanups } from "./harness.ts";
import type { JspurefixPeer, PeerMessage } from "./jspurefix-peer.ts";

const ENDPOINT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../examples/fix/endpoint.ts",
);
const ORDERS = 10;

const cleanups = useCleanups();
// Registered after useCleanups' hook, so it runs first: the children go before their files.
afterEach(killJsonLinesChildren);

function dir(prefix: string): string {
  const made = tempDir(prefix);
  cleanups.push(() => removeDir(made));
  return made;
}

async function peer(options: Parameters<typeof startPeer>[0]): Promise<JspurefixPeer> {
  const started = await startPeer(options);
  cleanups.push(() => started.stop());
  return started;
}

const seqOf = (m: PeerMessage) => Number(m.fields.get(Tag.MsgSeqNum));
const isIn = (msgType: string) => (m: PeerMessage) => m.direction === "in" && m.msgType === msgType;

describe("kill -9 of our FIX endpoint, jspurefix as the counterparty", () => {
  it("initiator: restarted after SIGKILL, its numbers continue, jspurefix accepts them, every order is submitted once", async () => {
    const store = dir("kill-initiator");
    const sell = await peer({
      role: "acceptor",
      senderCompId: "SELL",
      targetCompId: "BUY",
      heartBtInt: 1,
      autoFill: true,
      storeDir: dir("peer"),
    });
    const args = [store, String(sell.port), "BUY", "SELL", String(ORDERS), "100"];
    const first = startJsonLinesChild(ENDPOINT, ["initiator", ...args]);
    await sell.next((m) => isIn("D")(m) && m.fields.get(Tag.ClOrdID) === "ord-4");
    await killHard(first);
    const beforeKill = sell.messages.filter((m) => m.direction === "in");
    const lastSeqBeforeKill = Math.max(...beforeKill.map(seqOf));

    const second = startJsonLinesChild(ENDPOINT, ["initiator", ...args]);
    await second.next("submitted");
    for (let n = 1; n <= ORDERS; n++) {
      await sell.next((m) => isIn("D")(m) && m.fields.get(Tag.ClOrdID) === `ord-${n}`);
    }

    // The restarted Logon continued the numbers, without asking for a reset.
    const logons = sell.messages.filter(isIn("A"));
    const restart = logons.at(-1);
    expect(logons.length).toBeGreaterThanOrEqual(2);
    expect(restart && seqOf(restart)).toBeGreaterThan(lastSeqBeforeKill);
    expect(restart?.fields.get(Tag.ResetSeqNumFlag)).toBeUndefined();
    // jspurefix accepted them: it never logged us out or rejected a message.
    expect(
      sell.messages.filter(
        (m) => m.direction === "out" && (m.msgType === "5" || m.msgType === "3"),
      ),
    ).toEqual([]);
    // Every order reached jspurefix; no order was submitted twice (resends are PossDup).
    const orders = sell.messages.filter(isIn("D"));
    const ids = (list: PeerMessage[]) => list.map((m) => m.fields.get(Tag.ClOrdID));
    const fresh = ids(orders.filter((m) => m.fields.get(Tag.PossDupFlag) !== "Y"));
    expect(new Set(ids(orders))).toEqual(
      new Set(Array.from({ length: ORDERS }, (_, i) => `ord-${i + 1}`)),
    );
    expect(fresh).toHaveLength(new Set(fresh).size);
    // (jspurefix answers a ResendRequest with a gap fill even over its own reports, so
    // this side cannot count fills; the acceptor test below does, from jspurefix's side.)
  });

  // Killed between orders, not mid-order: jspurefix answers a ResendRequest for its own
  // orders with a gap fill (its resend store is never written), so an order that reached
  // us but was not yet durably taken when we died is one jspurefix itself gives up. The
  // initiator test above kills mid-flow; this one is about the acceptor's durable state.
  it("acceptor: restarted after SIGKILL, its numbers continue and every order is filled exactly once", async () => {
    const store = dir("kill-acceptor");
    const peerStore = dir("peer");
    const first = startJsonLinesChild(ENDPOINT, ["acceptor", store, "SELL", "BUY", "0"]);
    const { port } = await first.next("listening");
    const buyer = (p: number) =>
      peer({
        role: "initiator",
        senderCompId: "BUY",
        targetCompId: "SELL",
        heartBtInt: 1,
        port: p,
        storeDir: peerStore,
      });
    const order = (n: number) => ({
      ClOrdID: `ord-${n}`,
      HandlInst: "1",
      Symbol: "ACME",
      Side: "1",
      TransactTime: new Date(),
      OrderQty: 100 * n,
      OrdType: "1",
    });
    const buy1 = await buyer(Number(port));
    await buy1.next(isIn("A"));
    for (let n = 1; n <= 6; n++) buy1.send("D", order(n));
    await first.next("filled", (r) => r.clOrdId === "ord-6");
    await killHard(first);
    await buy1.stop();

    const second = startJsonLinesChild(ENDPOINT, ["acceptor", store, "SELL", "BUY", "0"]);
    const { port: port2 } = await second.next("listening");
    const buy2 = await buyer(Number(port2));
    await buy2.next(isIn("A"));
    for (let n = 7; n <= ORDERS; n++) buy2.send("D", order(n));
    const reports = () => [...buy1.messages, ...buy2.messages].filter(isIn("8"));
    for (let n = 1; n <= ORDERS; n++) {
      await (n <= 6 && reports().some((m) => m.fields.get(Tag.ClOrdID) === `ord-${n}`)
        ? Promise.resolve()
        : buy2.next((m) => isIn("8")(m) && m.fields.get(Tag.ClOrdID) === `ord-${n}`));
    }
    // One fill per order: every report for an order carries the same ExecID.
    const execIds = new Map<string, Set<string>>();
    for (const report of reports()) {
      const id = report.fields.get(Tag.ClOrdID) ?? "";
      execIds.set(id, (execIds.get(id) ?? new Set()).add(report.fields.get(Tag.ExecID) ?? ""));
    }
    expect(execIds.size).toBe(ORDERS);
    for (const [id, set] of execIds) expect([id, set.size]).toEqual([id, 1]);
    // Our restarted acceptor continued its numbers: jspurefix never had to log out or reject.
    const restartLogon = buy2.messages.find(isIn("A"));
    expect(restartLogon?.fields.get(Tag.ResetSeqNumFlag)).not.toBe("Y");
    expect(Number(restartLogon?.fields.get(Tag.MsgSeqNum))).toBeGreaterThan(1);
    expect(
      [...buy1.messages, ...buy2.messages].filter(
        (m) => m.direction === "out" && m.msgType === "3",
      ),
    ).toEqual([]);
    second.process.kill("SIGTERM");
    await second.exited;
  });
});
