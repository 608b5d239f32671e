/**
 * Order entry on top of the session: NewOrderSingle(D) → ExecutionReport(8).
 *
 * Both ends are Capsule durable functions, so a crash of either process loses no order
 * and executes none twice:
 * - the acceptor runs `fix.execute-order` once per (session, ClOrdID), the durable
 *   execution's id being the idempotency key: a NewOrderSingle seen again (a PossDup
 *   resend, or a resubmission after a crash) rejoins the recorded execution instead of
 *   filling again. The fill (OrderID, ExecID, price) is a recorded step; the report is
 *   sent by another step, so after a crash it may be sent again, with the same ExecID,
 *   which is how FIX receivers recognise a duplicate report.
 * - the initiator submits a list of orders with `fix.submit-orders`; each submission
 *   is a step, and a step that ran but was not recorded before a crash finds its order
 *   already in the session's outbound store and does not send it again.
 */
import { randomUUID } from "node:crypto";
import type { Capsule, RegisteredFunction } from "../../durable/index.ts";
import { type FixField, type FixMessage, fixTimestamp, MsgType, Tag } from "./codec.ts";
import { FixParser } from "./parser.ts";
import type { FixSession } from "./session.ts";

export interface Order {
  clOrdId: string;
  symbol: string;
  side: "1" | "2";
  qty: number;
}

export interface Fill {
  orderId: string;
  execId: string;
  price: string;
}

/** The NewOrderSingle body of `order`. */
export function newOrderSingle(order: Order, now: number): FixField[] {
  return [
    [Tag.ClOrdID, order.clOrdId],
    [Tag.HandlInst, "1"],
    [Tag.Symbol, order.symbol],
    [Tag.Side, order.side],
    [Tag.TransactTime, fixTimestamp(now)],
    [Tag.OrderQty, String(order.qty)],
    [Tag.OrdType, "1"],
  ];
}

/** Reads an order from a NewOrderSingle, or undefined if a field is missing. */
export function orderOf(message: FixMessage): Order | undefined {
  const clOrdId = message.get(Tag.ClOrdID);
  const symbol = message.get(Tag.Symbol);
  const side = message.get(Tag.Side);
  const qty = message.int(Tag.OrderQty);
  if (clOrdId === undefined || symbol === undefined || qty === undefined) return undefined;
  if (side !== "1" && side !== "2") return undefined;
  return { clOrdId, symbol, side, qty };
}

/**
 * The acceptor's side. Register it right after `Capsule.open` (recovery of interrupted
 * executions starts then, possibly before the sessions are open): `sessions` resolves
 * to the session of a key once it is open.
 */
export function registerOrderExecution(
  capsule: Capsule,
  sessions: (key: string) => Promise<FixSession>,
): RegisteredFunction<[string, Order], Fill> {
  return capsule.register("fix.execute-order", async (ctx, key: string, order: Order) => {
    const fill = await ctx.run(async (): Promise<Fill> => {
      // The execution itself: done once, its result recorded.
      const price = (100 + (order.qty % 7) / 4).toFixed(2);
      return { orderId: `O-${order.clOrdId}`, execId: `E-${randomUUID().slice(0, 8)}`, price };
    });
    await ctx.run(async () => {
      const qty = String(order.qty);
      await (await sessions(key)).sendApplication(MsgType.ExecutionReport, [
        [Tag.OrderID, fill.orderId],
        [Tag.ClOrdID, order.clOrdId],
        [Tag.ExecID, fill.execId],
        [Tag.ExecTransType, "0"],
        [Tag.ExecType, "2"],
        [Tag.OrdStatus, "2"],
        [Tag.Symbol, order.symbol],
        [Tag.Side, order.side],
        [Tag.OrderQty, qty],
        [Tag.LeavesQty, "0"],
        [Tag.CumQty, qty],
        [Tag.AvgPx, fill.price],
      ]);
    });
    return fill;
  });
}

/** The durable execution id of an order: one per session and ClOrdID. */
export function orderExecutionId(key: string, clOrdId: string): string {
  return `fix-order/${key}/${clOrdId}`;
}

/**
 * Starts (or rejoins) the execution of the order in `message`; resolves once it is
 * durably started, not when it is done, so the session reads on meanwhile.
 */
export async function acceptOrder(
  execute: RegisteredFunction<[string, Order], Fill>,
  key: string,
  message: FixMessage,
): Promise<boolean> {
  const order = orderOf(message);
  if (order === undefined) return false;
  await execute.run(orderExecutionId(key, order.clOrdId), key, order);
  return true;
}

/** The ClOrdIDs of the NewOrderSingles in the session's outbound store (this period). */
export async function submittedOrders(session: FixSession): Promise<Set<string>> {
  const ids = new Set<string>();
  for (let seq = 1; seq < session.sequence.nextOut; seq++) {
    const raw = await session.storedOutbound(seq);
    const event = raw === undefined ? undefined : new FixParser().push(raw)[0];
    if (event?.kind === "message" && event.message.msgType === MsgType.NewOrderSingle) {
      const id = event.message.get(Tag.ClOrdID);
      if (id !== undefined) ids.add(id);
    }
  }
  return ids;
}

/**
 * The initiator's side: submits `orders` one step each. `session` resolves to the live
 * session (a recovered execution may start before the process has opened it).
 */
export function registerOrderSubmission(
  capsule: Capsule,
  session: () => Promise<FixSession>,
  clock: () => number = Date.now,
): RegisteredFunction<[Order[]], number> {
  let submitted: Promise<Set<string>> | undefined;
  return capsule.register("fix.submit-orders", async (ctx, orders: Order[]) => {
    for (const order of orders) {
      await ctx.run(async () => {
        const live = await session();
        // Read once per process: what reached the store before a crash is not sent again.
        submitted ??= submittedOrders(live);
        const already = await submitted;
        if (already.has(order.clOrdId)) return;
        already.add(order.clOrdId);
        await live.sendApplication(MsgType.NewOrderSingle, newOrderSingle(order, clock()));
      });
    }
    return orders.length;
  });
}

/** What the initiator knows of an order's fill: its ExecID, and any other ExecID seen for it. */
export interface ReportRecord {
  clOrdId: string;
  execId: string;
  /** A different ExecID for the same order: a second fill (must never happen). */
  conflict?: string;
}

function reportId(key: string, clOrdId: string): string {
  return `fix-report/${key}/${clOrdId}`;
}

/**
 * Records the ExecutionReport in `message` in the durable store (the initiator calls it
 * before the message counts as received, so a crash cannot lose it). The same report
 * again (a PossDup resend) is recognised by its ExecID.
 */
export async function recordExecutionReport(
  capsule: Capsule,
  key: string,
  message: FixMessage,
): Promise<ReportRecord | undefined> {
  const clOrdId = message.get(Tag.ClOrdID);
  const execId = message.get(Tag.ExecID);
  if (clOrdId === undefined || execId === undefined) return undefined;
  // Creating an existing promise returns it unchanged: the first report's ExecID wins.
  const record = await capsule.promises.create(reportId(key, clOrdId), Number.MAX_SAFE_INTEGER, {
    data: execId,
  });
  const first = record.param.data ?? execId;
  return first === execId ? { clOrdId, execId } : { clOrdId, execId: first, conflict: execId };
}

/** The ExecIDs recorded for `clOrdIds` (absent: no report yet). */
export async function recordedReports(
  capsule: Capsule,
  key: string,
  clOrdIds: readonly string[],
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const clOrdId of clOrdIds) {
    try {
      const record = await capsule.promises.get(reportId(key, clOrdId));
      found.set(clOrdId, record.param.data ?? "");
    } catch (error) {
      if (Reflect.get(Object(Reflect.get(Object(error), "serverError")), "code") !== 404)
        throw error;
    }
  }
  return found;
}
