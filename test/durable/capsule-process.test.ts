// Capsule across real processes: the store lock, a cell longer than the task lease,
// many executions and a reopen, and named sessions continued by a new process (the CLI).
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { useStoreDirs } from "../support/store-dirs.ts";
import { killHard, startCapsuleChild, waitForPidsGone } from "./capsule-process.ts";

const dirs = useStoreDirs("capsule-proc-");

async function runToExit(args: string[]): Promise<Record<string, unknown>[]> {
  const child = startCapsuleChild(args);
  const exit = await child.exited;
  expect(exit.code, child.stderr()).toBe(0);
  return child.reports();
}

function cellLog(): string[] {
  return fs.readFileSync(path.join(dirs.side, "cells.log"), "utf8").split("\n").filter(Boolean);
}

describe("Capsule in real processes", () => {
  it("a second open of the same store fails with StoreLockedError naming the owner", async () => {
    const holder = startCapsuleChild(["hold", dirs.store, dirs.side]);
    const opened = await holder.next("opened");
    const second = startCapsuleChild(["hold", dirs.store, dirs.side]);
    const locked = await second.next("locked");
    expect(locked).toMatchObject({ code: "STORE_LOCKED", ownerPid: opened.pid });
    expect((await second.exited).code).toBe(3);
    holder.process.stdin?.end();
    expect((await holder.exited).code).toBe(0);
  });

  it("a cell longer than the task lease runs once", async () => {
    // Lease 1 s (set by the fixture), cell 4 s: without lease keep-alive the task would
    // be dispatched again while the cell runs.
    const reports = await runToExit(["long", dirs.store, dirs.side, "-", "4000"]);
    expect(reports.find((r) => r.event === "done")?.result).toBe("slept");
    expect(cellLog()).toEqual(["1"]);
  });

  // Each execution costs several fsynced commits and, since a released session is retired
  // (a worker never serves two executions), a fresh worker: generous on a slow machine.
  // The store side of "many" is covered at 10,000 and 20,000 by the store tests.
  it("200 sequential executions, then a reopen reads them all back", {
    timeout: 240_000,
  }, async () => {
    const many = await runToExit(["many", dirs.store, dirs.side, "-", "200"]);
    const written = many.find((r) => r.event === "done");
    expect(written?.sum).toBe(39_800);
    const reopened = await runToExit(["reopen", dirs.store, dirs.side, "-", "200"]);
    const read = reopened.find((r) => r.event === "done");
    expect(read?.sum).toBe(39_800);
    // Timing is printed, not asserted (machines differ).
    console.log(
      `200 executions: ${Math.round(Number(written?.elapsedMs))} ms; reopen ${Math.round(Number(read?.openMs))} ms, read back ${Math.round(Number(read?.elapsedMs))} ms`,
    );
  });

  it("a named session continues in a new process, and its history can be shown", async () => {
    const first = await runToExit(["exec", dirs.store, dirs.side, "let x = 41"]);
    expect(first.find((r) => r.event === "result")).toMatchObject({ display: "undefined" });
    const second = await runToExit(["exec", dirs.store, dirs.side, "x + 1"]);
    expect(second.find((r) => r.event === "result")).toMatchObject({ value: 42 });
    const failed = await runToExit([
      "exec",
      dirs.store,
      dirs.side,
      "x = 0; throw new RangeError('no')",
    ]);
    expect(failed.find((r) => r.event === "error")).toMatchObject({
      name: "ExecutionError",
      message: expect.stringContaining("RangeError: no"),
    });
    // The failed cell's assignment before the throw is kept, as in a live session.
    const after = await runToExit(["exec", dirs.store, dirs.side, "console.log('x is', x); x + 1"]);
    expect(after.find((r) => r.event === "output")).toMatchObject({ data: "x is 0\n" });
    expect(after.find((r) => r.event === "result")).toMatchObject({ value: 1 });

    const inspected = await runToExit(["inspect", dirs.store, dirs.side, "demo"]);
    const listing = inspected.find((r) => r.event === "list")?.listing;
    expect(listing).toMatchObject({ sessions: [{ name: "demo", cells: 4, state: "resolved" }] });
    const view = inspected.find((r) => r.event === "show")?.view as {
      cells: {
        id: string;
        code: string;
        result?: { value: unknown };
        error?: { errorName: string };
      }[];
    };
    expect(view.cells.map((c) => c.id)).toEqual([
      "session/demo/1",
      "session/demo/2",
      "session/demo/3",
      "session/demo/4",
    ]);
    expect(view.cells.map((c) => c.code)).toEqual([
      "let x = 41",
      "x + 1",
      "x = 0; throw new RangeError('no')",
      "console.log('x is', x); x + 1",
    ]);
    expect(view.cells[1]?.result?.value).toBe(42);
    expect(view.cells[2]?.error?.errorName).toBe("RangeError");
  });

  it("list, show and tree describe a finished execution", async () => {
    // Run the crash fixture's function to the end (the resume role finishes it).
    const crashed = startCapsuleChild(["crash", dirs.store, dirs.side, "between"]);
    await crashed.next("cell");
    crashed.process.kill("SIGKILL");
    await crashed.exited;
    await runToExit(["resume", dirs.store, dirs.side]);
    const inspected = await runToExit(["inspect", dirs.store, dirs.side, "job-1"]);
    const listing = inspected.find((r) => r.event === "list")?.listing as {
      executions: { id: string; func: string; state: string }[];
    };
    expect(listing.executions).toEqual([
      expect.objectContaining({ id: "job-1", func: "cells", state: "resolved" }),
    ]);
    const view = inspected.find((r) => r.event === "show")?.view as {
      value: unknown;
      cells: { session: string; code: string }[];
    };
    expect(view.value).toBe("60-ok");
    expect(view.cells).toHaveLength(3);
    expect(view.cells.every((c) => c.session === "main")).toBe(true);
    const tree = inspected.find((r) => r.event === "tree")?.tree as {
      label: string;
      state: string;
      children: { id: string; label: string; state: string }[];
    };
    expect(tree).toMatchObject({ label: "cells", state: "resolved" });
    expect(tree.children.map((c) => c.label)).toEqual([
      "execute(main)",
      "execute(main)",
      "sleep",
      "promise",
      "announce",
      "execute(main)",
    ]);
    expect(tree.children.every((c) => c.state === "resolved")).toBe(true);
  });
});

describe("a named session whose process is killed inside a cell", () => {
  it("finishes the interrupted cell in the next process before running the new one", async () => {
    await runToExit(["exec", dirs.store, dirs.side, "let x = 41"]);
    const marker = path.join(dirs.side, "hung-once");
    // Hangs the first time it runs (after leaving a marker), finishes when run again.
    const hangOnce = `const fs = require("node:fs");
      if (!fs.existsSync(${JSON.stringify(marker)})) {
        fs.writeFileSync(${JSON.stringify(marker)}, "");
        console.log("inside " + process.pid);
        await new Promise(() => {});
      }
      x + 1`;
    const killed = startCapsuleChild(["exec", dirs.store, dirs.side, hangOnce]);
    const inside = await killed.next("output");
    // The host's view of the worker's pid (a sandboxed cell sees its own pid namespace).
    const workerPid = Number(inside.workerPid);
    expect(workerPid).toBeGreaterThan(0);
    await killHard(killed);
    expect(await waitForPidsGone([workerPid])).toEqual([]);

    const next = await runToExit(["exec", dirs.store, dirs.side, "x * 10"]);
    expect(next.find((r) => r.event === "result")).toMatchObject({ value: 410 });
    const inspected = await runToExit(["inspect", dirs.store, dirs.side, "demo"]);
    const view = inspected.find((r) => r.event === "show")?.view as {
      cells: { id: string; state: string; result?: { value: unknown } }[];
    };
    expect(view.cells.map((c) => [c.id, c.state, c.result?.value])).toEqual([
      ["session/demo/1", "resolved", undefined],
      ["session/demo/2", "resolved", 42],
      ["session/demo/3", "resolved", 410],
    ]);
  });
});
