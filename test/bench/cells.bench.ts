/**
 * What one cell costs, by how it runs:
 * 1. round trip of `execute("1 + 1")` on the event-loop path and forced `blocking_sync`;
 * 2. cancel latency of a spinning blocking cell (abort → rejection), median and p99, and
 *    how many of the cancels needed the host's backstop (a worker restart).
 * Run: `node test/bench/run.ts cells` (through npx, for the pinned Node).
 */
import { CancelledError } from "../../src/errors.ts";
import { Session } from "../../src/session/index.ts";
import { fromDurationsNs, printTable } from "./harness.ts";

const ROUND_TRIPS = 2000;
const CANCELS = 200;

async function timeCells(session: Session, mode: "blocking_sync" | undefined): Promise<number[]> {
  const options = mode === undefined ? {} : { mode };
  for (let i = 0; i < 200; i++) await session.execute("1 + 1", options);
  const durations: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const start = process.hrtime.bigint();
    await session.execute("1 + 1", options);
    durations.push(Number(process.hrtime.bigint() - start));
  }
  return durations;
}

/** Aborts each spinning cell on its first output, i.e. once it is surely in its loop. */
async function timeCancels(session: Session): Promise<{ durations: number[]; restarts: number }> {
  let restarts = 0;
  session.on("respawn", () => restarts++);
  const durations: number[] = [];
  for (let i = 0; i < CANCELS; i++) {
    const abort = new AbortController();
    let abortedAt = 0n;
    const cell = session.execute(
      `let spun${i % 8} = 0; console.log("spinning"); while (true) spun${i % 8}++`,
      {
        mode: "blocking_sync",
        signal: abort.signal,
        onOutput: () => {
          if (abortedAt !== 0n) return;
          abortedAt = process.hrtime.bigint();
          abort.abort();
        },
      },
    );
    const outcome = await cell.then(
      () => "finished",
      (error: unknown) => error,
    );
    durations.push(Number(process.hrtime.bigint() - abortedAt));
    if (!(outcome instanceof CancelledError))
      throw new Error(`cancel ${i}: got ${String(outcome)}`);
    // A restart in flight makes the next execute wait for READY; that wait is not a cancel.
    await session.execute("0");
  }
  return { durations, restarts };
}

export default async function run(): Promise<void> {
  const session = new Session({ checkpoint: false });
  await session.start();
  try {
    const eventLoop = fromDurationsNs('execute("1 + 1")', await timeCells(session, undefined));
    const blocking = fromDurationsNs(
      'execute("1 + 1", { mode: "blocking_sync" })',
      await timeCells(session, "blocking_sync"),
    );
    printTable("Cell round trip", [eventLoop, blocking], eventLoop.name);
    const cancels = await timeCancels(session);
    const cancelRow = fromDurationsNs(`cancel, ${CANCELS} times`, cancels.durations);
    printTable(
      "Cancel of a spinning blocking cell (abort → rejected)",
      [cancelRow],
      cancelRow.name,
    );
    console.log(`backstop restarts over ${CANCELS} cancels: ${cancels.restarts}`);
  } finally {
    await session.close();
  }
}
