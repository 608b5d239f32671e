/**
 * Crash and resume (`npm start`): a durable five-cell job is killed for real (SIGKILL)
 * in the middle of a cell, started again, and resumes where it was. Cells recorded before
 * the crash are replayed from the store without running; the interrupted cell runs again
 * on a fresh worker whose namespace is restored from the last checkpoint.
 *
 * This file plays two roles. Run plainly, it is the narrator: it creates a temporary
 * store, starts itself as the orchestrator (`crash-and-resume.ts orchestrate <dir>`),
 * reads the orchestrator's events (JSON lines on its stdout), kills it with SIGKILL during
 * cell 4, starts it again and shows the resume. It needs no input and cleans up its store.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { Capsule } from "../durable/index.ts";

const CELLS = [
  // 1: generate data
  `const rows = Array.from({ length: 5000 }, (_, i) => ({ id: i, value: (i * 37) % 101 }));
console.log("generated " + rows.length + " rows");
rows.length`,
  // 2: clean it
  `const clean = rows.filter((row) => row.value % 7 !== 0);
console.log("kept " + clean.length + " rows");
clean.length`,
  // 3: aggregate
  `const total = clean.reduce((sum, row) => sum + row.value, 0);
console.log("total " + total);
total`,
  // 4: a slow cell with progress; it reads the namespace left by cells 1-3
  `console.log("namespace: rows=" + rows.length + " clean=" + clean.length + " total=" + total);
const buckets = new Map();
for (let step = 1; step <= 10; step++) {
  await new Promise((resolve) => setTimeout(resolve, 120));
  console.log("binning " + step * 10 + "%");
}
for (const row of clean) buckets.set(row.value % 10, (buckets.get(row.value % 10) ?? 0) + 1);
buckets.size`,
  // 5: the report
  `({ rows: rows.length, clean: clean.length, total, mean: +(total / clean.length).toFixed(3), buckets: buckets.size })`,
];

/** What the job computes, done here in plain JS to check the resumed result. */
function expectedReport(): Record<string, number> {
  const rows = Array.from({ length: 5000 }, (_, i) => ({ id: i, value: (i * 37) % 101 }));
  const clean = rows.filter((row) => row.value % 7 !== 0);
  const total = clean.reduce((sum, row) => sum + row.value, 0);
  const buckets = new Set(clean.map((row) => row.value % 10));
  return {
    rows: rows.length,
    clean: clean.length,
    total,
    mean: +(total / clean.length).toFixed(3),
    buckets: buckets.size,
  };
}

type JobEvent =
  | { event: "opened"; pid: number }
  | { event: "start"; n: number }
  | { event: "output"; n: number; data: string; replayed: boolean }
  | { event: "cell"; n: number; display: string; replayed: boolean; workerPid: number }
  | { event: "done"; result: unknown };

// ---------------------------------------------------------------- orchestrator role

async function orchestrate(dir: string): Promise<void> {
  const emit = (event: JobEvent) => process.stdout.write(`${JSON.stringify(event)}\n`);
  const capsule = await Capsule.open({ dir, pool: { minIdle: 0 } });
  emit({ event: "opened", pid: process.pid });
  const job = capsule.register("report", async (ctx) => {
    const session = ctx.session("etl");
    let last: unknown;
    for (const [i, code] of CELLS.entries()) {
      const n = i + 1;
      emit({ event: "start", n });
      const result = await session.execute(`${code};\n`, {
        onOutput: (chunk) =>
          emit({ event: "output", n, data: chunk.data, replayed: chunk.replayed === true }),
      });
      // The worker's pid tells which process ran the cell (a cell of its own, not recorded
      // in the job: it runs only when the next real cell does).
      emit({
        event: "cell",
        n,
        display: result.display,
        replayed: result.replayed,
        workerPid: session.workerPid ?? 0,
      });
      last = result.value;
    }
    return last;
  });
  // The id is the idempotency key: the second run rejoins the interrupted execution.
  const handle = await job.run("report-1");
  emit({ event: "done", result: await handle.result() });
  await capsule.close();
}

// ---------------------------------------------------------------- narrator role

function startOrchestrator(dir: string): { child: ChildProcess; events: AsyncIterable<string> } {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [self, "orchestrate", dir], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (child.stdout === null) throw new Error("orchestrator has no stdout");
  return { child, events: readline.createInterface({ input: child.stdout }) };
}

async function narrate(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-crash-and-resume-"));
  let child: ChildProcess | undefined;
  try {
    console.log("Capsule: crash and resume");
    console.log(`A durable job of ${CELLS.length} code cells runs in an orchestrator process.`);
    console.log(`Its store: ${dir}\n`);

    console.log("── run 1: start the job; it will be killed with SIGKILL during cell 4");
    const first = startOrchestrator(dir);
    child = first.child;
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      first.child.once("exit", (_code, signal) => resolve(signal)),
    );
    for await (const line of first.events) {
      const event = JSON.parse(line) as JobEvent;
      show(event, "run 1");
      if (event.event === "output" && event.n === 4 && event.data.startsWith("binning")) {
        console.log(
          `  run 1 │ ✖ kill -9 ${first.child.pid} (the orchestrator) in the middle of cell 4`,
        );
        first.child.kill("SIGKILL");
        break;
      }
    }
    console.log(`  run 1 │ orchestrator ended by ${await exited}\n`);

    console.log("── run 2: start the same job id again in a new process");
    const second = startOrchestrator(dir);
    child = second.child;
    const replayed: number[] = [];
    const ran: number[] = [];
    let result: unknown;
    for await (const line of second.events) {
      const event = JSON.parse(line) as JobEvent;
      show(event, "run 2");
      if (event.event === "cell") (event.replayed ? replayed : ran).push(event.n);
      if (event.event === "done") result = event.result;
    }
    const code = await new Promise<number | null>((resolve) => {
      if (second.child.exitCode !== null) resolve(second.child.exitCode);
      else second.child.once("exit", (exitCode) => resolve(exitCode));
    });
    if (code !== 0) throw new Error(`the resumed orchestrator failed (exit ${code})`);

    console.log("\n── summary");
    console.log(`  replayed from the record (not run again): cells ${replayed.join(", ")}`);
    console.log(`  ran in run 2 on a restored worker:        cells ${ran.join(", ")}`);
    console.log(`  result: ${JSON.stringify(result)}`);
    const expected = JSON.stringify(expectedReport());
    if (JSON.stringify(result) !== expected) {
      throw new Error(`the resumed result differs from an uninterrupted run: ${expected}`);
    }
    console.log("  the result equals an uninterrupted run's: the crash lost nothing");
  } finally {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function show(event: JobEvent, run: string): void {
  const prefix = `  ${run} │`;
  switch (event.event) {
    case "opened":
      console.log(`${prefix} orchestrator pid ${event.pid} opened the store`);
      return;
    case "start":
      console.log(`${prefix} cell ${event.n}/${CELLS.length} …`);
      return;
    case "output":
      for (const text of event.data.trimEnd().split("\n")) {
        console.log(`${prefix}     ${event.replayed ? "(replayed output) " : ""}${text}`);
      }
      return;
    case "cell": {
      const how = event.replayed
        ? "replayed from the record"
        : `ran on worker pid ${event.workerPid}`;
      console.log(`${prefix} cell ${event.n}/${CELLS.length} ✔ ${how} → ${event.display}`);
      return;
    }
    case "done":
      console.log(`${prefix} job finished`);
      return;
  }
}

if (process.argv[2] === "orchestrate") {
  const dir = process.argv[3];
  if (dir === undefined) throw new Error("usage: crash-and-resume.ts orchestrate <dir>");
  await orchestrate(dir);
} else {
  await narrate();
}
