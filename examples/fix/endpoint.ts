/**
 * One FIX endpoint as a process of its own, reporting what happens as JSON lines on
 * stdout (the demo and the tests read them; they kill it with SIGKILL and start it again):
 *
 *   endpoint.ts initiator <dir> <port> <sender> <target> <orders> [interval-ms]
 *   endpoint.ts acceptor  <dir> <sender> <target>[,<target>…] [fill-delay-ms]
 *
 * The initiator submits `orders` NewOrderSingles (a durable function, paced by
 * `interval-ms`), and exits once every order has its ExecutionReport. The acceptor
 * fills each order in a durable function (after `fill-delay-ms`, an exchange's latency)
 * and runs until SIGTERM. Both keep their session state in `<dir>`.
 */
import { Capsule, type RegisteredFunction } from "../../durable/index.ts";
import { FixAcceptor } from "./acceptor.ts";
import { type FixMessage, MsgType, Tag } from "./codec.ts";
import { FixInitiator } from "./initiator.ts";
import { openSession, sessionKey } from "./open-session.ts";
import {
  acceptOrder,
  type Fill,
  type Order,
  orderExecutionId,
  recordExecutionReport,
  recordedReports,
  registerOrderExecution,
  registerOrderSubmission,
} from "./orders.ts";
import type { FixSession, SessionEvent } from "./session.ts";

export type EndpointReport = Record<string, unknown> & { event: string };

function emit(report: EndpointReport): void {
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

// Whoever reads the reports may be gone (killed, or done): that is no reason to crash.
process.stdout.on("error", () => {});

function describe(message: FixMessage): Record<string, unknown> {
  return {
    msgType: message.msgType,
    seq: message.seqNum,
    possDup: message.possDup,
    ...(message.get(Tag.ClOrdID) === undefined ? {} : { clOrdId: message.get(Tag.ClOrdID) }),
    ...(message.get(Tag.ExecID) === undefined ? {} : { execId: message.get(Tag.ExecID) }),
    ...(message.get(Tag.NewSeqNo) === undefined ? {} : { newSeqNo: message.int(Tag.NewSeqNo) }),
    ...(message.get(Tag.BeginSeqNo) === undefined
      ? {}
      : { beginSeqNo: message.int(Tag.BeginSeqNo) }),
    ...(message.get(Tag.Text) === undefined ? {} : { text: message.get(Tag.Text) }),
  };
}

/** Session events as reports (messages summarised, not as raw bytes). */
function reporter(key: string): (event: SessionEvent) => void {
  return (event) => {
    if (event.type === "sent" || event.type === "received" || event.type === "dropped") {
      emit({
        event: event.type,
        key,
        ...describe(event.message),
        ...("resent" in event ? { resent: event.resent } : {}),
      });
    } else {
      emit({ ...event, event: event.type, key });
    }
  };
}

export function ordersFor(count: number): Order[] {
  return Array.from({ length: count }, (_, i) => ({
    clOrdId: `ord-${i + 1}`,
    symbol: "ACME",
    side: i % 2 === 0 ? "1" : "2",
    qty: 100 * (i + 1),
  }));
}

async function initiator(args: string[]): Promise<void> {
  const [dir = "", port = "", sender = "", target = "", count = "0", interval = "0"] = args;
  const capsule = await Capsule.open({ dir, pool: { minIdle: 0 } });
  let resolveSession: (s: FixSession) => void = () => {};
  const ready = new Promise<FixSession>((resolve) => {
    resolveSession = resolve;
  });
  const pace = Number(interval);
  const submit = registerOrderSubmission(capsule, async () => {
    const session = await ready;
    if (pace > 0) await new Promise((resolve) => setTimeout(resolve, pace));
    return session;
  });
  const key = sessionKey(sender, target);
  const orders = ordersFor(Number(count));
  // Reports received before a crash are in the store; count them too.
  const reports = await recordedReports(
    capsule,
    key,
    orders.map((o) => o.clOrdId),
  );
  const conflicts: string[] = [];
  let allFilled: () => void = () => {};
  const filled = new Promise<void>((resolve) => {
    allFilled = resolve;
  });
  const checkFilled = () => {
    if (orders.every((o) => reports.has(o.clOrdId))) allFilled();
  };
  checkFilled();
  const session = await openSession(capsule, {
    role: "initiator",
    senderCompId: sender,
    targetCompId: target,
    heartBtInt: 1,
    onEvent: reporter(key),
    onApplication: async (message) => {
      if (message.msgType !== MsgType.ExecutionReport) return;
      const record = await recordExecutionReport(capsule, key, message);
      if (record === undefined) return;
      if (record.conflict !== undefined)
        conflicts.push(`${record.clOrdId}: ${record.execId} and ${record.conflict}`);
      reports.set(record.clOrdId, record.execId);
      checkFilled();
    },
  });
  emit({ event: "opened", pid: process.pid, key, ...session.sequence });
  resolveSession(session);
  const fix = new FixInitiator(session, { port: Number(port) });
  const running = fix.run();
  // The id makes the batch idempotent: after a crash this rejoins the interrupted one.
  const batch = await submit.run(`fix-orders/${key}/batch-1`, orders);
  await batch.result();
  emit({ event: "submitted", count: orders.length });
  await Promise.race([filled, running]);
  emit({ event: "all-filled", reports: Object.fromEntries(reports), conflicts });
  await fix.stop();
  await running;
  await capsule.close();
}

async function acceptor(args: string[]): Promise<void> {
  const [dir = "", sender = "", targets = "", fillDelay = "0"] = args;
  const capsule = await Capsule.open({ dir, pool: { minIdle: 0 } });
  const sessions = new Map<string, FixSession>();
  const opened = new Map<string, { promise: Promise<FixSession>; resolve(s: FixSession): void }>();
  for (const target of targets.split(",")) {
    let resolve: (s: FixSession) => void = () => {};
    const promise = new Promise<FixSession>((r) => {
      resolve = r;
    });
    opened.set(sessionKey(sender, target), { promise, resolve });
  }
  const delay = Number(fillDelay);
  // Registered first: a recovered execution may run before its session is open, and waits.
  const execute: RegisteredFunction<[string, Order], Fill> = registerOrderExecution(
    capsule,
    (key) => {
      const session = opened.get(key);
      if (session === undefined) return Promise.reject(new Error(`no session ${key}`));
      return session.promise;
    },
  );
  for (const target of targets.split(",")) {
    const key = sessionKey(sender, target);
    const session = await openSession(capsule, {
      role: "acceptor",
      senderCompId: sender,
      targetCompId: target,
      heartBtInt: 1,
      onEvent: reporter(key),
      onApplication: async (message) => {
        if (message.msgType !== MsgType.NewOrderSingle) return;
        if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
        const clOrdId = message.get(Tag.ClOrdID);
        await acceptOrder(execute, key, message);
        const handle = await capsule.get<Fill>(orderExecutionId(key, clOrdId ?? ""));
        void handle.result().then(
          (fill) => emit({ event: "filled", key, clOrdId, ...fill }),
          (error: unknown) => emit({ event: "fill-failed", key, clOrdId, error: String(error) }),
        );
      },
    });
    sessions.set(key, session);
    opened.get(key)?.resolve(session);
  }
  const fix = new FixAcceptor([...sessions.values()], {
    onRefused: (reason) => emit({ event: "refused", reason }),
  });
  const port = await fix.listen();
  emit({ event: "listening", pid: process.pid, port });
  await new Promise<void>((resolve) => process.once("SIGTERM", resolve));
  await fix.close();
  await capsule.close();
}

const [role, ...rest] = process.argv.slice(2);
if (role === "initiator") await initiator(rest);
else if (role === "acceptor") await acceptor(rest);
else if (role !== undefined) throw new Error(`endpoint.ts: unknown role ${role}`);
