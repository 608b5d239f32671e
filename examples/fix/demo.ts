/**
 * FIX 4.2 on Capsule's durable layer (`node examples/fix/demo.ts`).
 *
 * An acceptor (CompID SELL) and an initiator (CompID BUY), each a process of its own
 * with its session state in its own Capsule store, exchange orders: the initiator
 * submits 12 NewOrderSingles, the acceptor fills each in a durable function and answers
 * with an ExecutionReport. Midway the initiator is killed with SIGKILL; the acceptor's
 * next report goes nowhere. The initiator is started again: its sequence numbers come
 * back from its store and continue, the acceptor's Logon reveals the gap, the initiator
 * asks for a resend, and the acceptor resends the lost report (PossDupFlag=Y) and
 * gap-fills over its administrative messages. Every order ends up filled exactly once.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

const ORDERS = 12;
const KILL_AT = "ord-5";
const ENDPOINT = path.join(path.dirname(fileURLToPath(import.meta.url)), "endpoint.ts");

type Report = Record<string, unknown> & { event: string };

interface Endpoint {
  child: ChildProcess;
  /** Resolves with the first report (from now on) matching `where`. */
  next(where: (r: Report) => boolean): Promise<Report>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(
  label: string,
  args: string[],
  show: (r: Report) => string | undefined,
  onReport: (r: Report) => void = () => {},
): Endpoint {
  const child = spawn(process.execPath, [ENDPOINT, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (child.stdout === null) throw new Error("endpoint has no stdout");
  const waiters: { where: (r: Report) => boolean; resolve: (r: Report) => void }[] = [];
  // Lines of one chunk arrive in one go: a report can come before anyone waits for it.
  const seen: Report[] = [];
  readline.createInterface({ input: child.stdout }).on("line", (line) => {
    const report = JSON.parse(line) as Report;
    seen.push(report);
    onReport(report);
    const text = show(report);
    if (text !== undefined) console.log(`  ${label} │ ${text}`);
    for (const waiter of [...waiters]) {
      if (waiter.where(report)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(report);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    exited,
    next: (where) =>
      new Promise((resolve, reject) => {
        const already = seen.find(where);
        if (already !== undefined) return resolve(already);
        waiters.push({ where, resolve });
        void exited.then(({ code, signal }) =>
          reject(new Error(`${label} exited (${code ?? signal})`)),
        );
      }),
  };
}

const NAMES: Record<string, string> = {
  "0": "Heartbeat",
  "1": "TestRequest",
  "2": "ResendRequest",
  "3": "Reject",
  "4": "SequenceReset",
  "5": "Logout",
  A: "Logon",
  D: "NewOrderSingle",
  "8": "ExecutionReport",
};

/** One line per interesting report; heartbeats are left out. */
function narrate(report: Report): string | undefined {
  const name = NAMES[String(report.msgType)] ?? String(report.msgType);
  const detail = [
    report.clOrdId === undefined ? "" : ` ${report.clOrdId}`,
    report.execId === undefined ? "" : ` ExecID=${report.execId}`,
    report.beginSeqNo === undefined ? "" : ` BeginSeqNo=${report.beginSeqNo} EndSeqNo=0`,
    report.newSeqNo === undefined ? "" : ` GapFill NewSeqNo=${report.newSeqNo}`,
    report.possDup === true ? " PossDupFlag=Y" : "",
  ].join("");
  switch (report.event) {
    case "opened":
      return `store: next MsgSeqNum out ${report.nextOut}, expected in ${report.nextIn}`;
    case "listening":
      return `listening on 127.0.0.1:${report.port}`;
    case "sent":
    case "received":
      if (report.msgType === "0") return undefined;
      return `${report.event === "sent" ? "→" : "←"} ${name} #${report.seq}${detail}`;
    case "gap":
      return `gap: expected MsgSeqNum ${report.expected}, received ${report.received}`;
    case "resend-answered": {
      const resent = (report.resent as number[]).join(", ") || "none";
      const fills = (report.gapFills as string[]).join(", ") || "none";
      return `answered ResendRequest ${report.begin}..${report.end}: resent #${resent}; gap-filled ${fills}`;
    }
    case "logged-on":
      return `logged on (HeartBtInt ${report.heartBtInt})`;
    case "ended":
      return `session ended: ${report.reason}`;
    case "submitted":
      return `all ${report.count} orders submitted (the durable function finished)`;
    case "filled":
      return `filled ${report.clOrdId} at ${report.price} (${report.execId})`;
    default:
      return undefined;
  }
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-fix-demo-"));
  const children: ChildProcess[] = [];
  try {
    console.log("Capsule: a FIX 4.2 session on the durable layer");
    console.log(`stores: ${root}\n`);
    console.log("── the acceptor (SELL) starts");
    const acceptor = start(
      "acceptor ",
      ["acceptor", path.join(root, "sell"), "SELL", "BUY", "200"],
      narrate,
    );
    children.push(acceptor.child);
    const { port } = await acceptor.next((r) => r.event === "listening");

    const initiatorArgs = [
      "initiator",
      path.join(root, "buy"),
      String(port),
      "BUY",
      "SELL",
      String(ORDERS),
      "60",
    ];
    console.log(`\n── the initiator (BUY) starts and submits ${ORDERS} orders`);
    let lastSent = 0;
    const first = start("initiator", initiatorArgs, narrate, (r) => {
      if (r.event === "sent" && typeof r.seq === "number" && r.possDup !== true) lastSent = r.seq;
    });
    children.push(first.child);
    await acceptor.next((r) => r.event === "received" && r.clOrdId === KILL_AT);
    first.child.kill("SIGKILL");
    console.log(
      `  initiator │ ✖ kill -9 ${first.child.pid} (the acceptor has just received ${KILL_AT})`,
    );
    console.log(
      `  initiator │ ended by ${(await first.exited).signal}; the last MsgSeqNum it sent was ${lastSent}`,
    );
    // The acceptor's report for the order it was filling goes to a dead connection.
    await acceptor.next((r) => r.event === "filled" && r.clOrdId === KILL_AT);

    console.log("\n── the initiator starts again on the same store");
    const second = start("initiator", initiatorArgs, narrate);
    children.push(second.child);
    const opened = await second.next((r) => r.event === "opened");
    const logon = await second.next((r) => r.event === "sent" && r.msgType === "A");
    console.log(
      `  initiator │ sequence numbers continue: Logon is #${logon.seq} (last sent before the kill: ${lastSent}; store said ${opened.nextOut}), no reset to 1`,
    );
    const done = await second.next((r) => r.event === "all-filled");
    const { code } = await second.exited;
    if (code !== 0) throw new Error(`the restarted initiator failed (exit ${code})`);

    console.log("\n── summary");
    const reports = Object.keys(done.reports as Record<string, string>).length;
    const conflicts = done.conflicts as string[];
    console.log(
      `  ${reports} of ${ORDERS} orders have an ExecutionReport; ${conflicts.length} have two different ExecIDs`,
    );
    if (reports !== ORDERS || conflicts.length > 0) {
      throw new Error(`orders lost or filled twice: ${JSON.stringify(done)}`);
    }
    console.log("  none lost, none filled twice, and the sequence numbers never went back to 1");
    acceptor.child.kill("SIGTERM");
    await acceptor.exited;
  } finally {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
