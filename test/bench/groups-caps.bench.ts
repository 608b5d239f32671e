/**
 * Capabilities of a remote cell (durable/groups/remote-capabilities.ts), against
 * `capsule serve` on 127.0.0.1 in this process and one `capsule worker` started through
 * the CLI: the round trip of one durable capability call (cell → record in the store →
 * the orchestrator's host function → settled record → cell), as the time between
 * consecutive calls of a cell that calls `ping()` CALLS times in a row, for a cell in a
 * worker against the same cell in the orchestrator's own pool (the baseline: each call
 * a durable record too), same server, same run.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Capsule } from "../../durable/index.ts";
import { type RunningServer, serve } from "../../durable/serve/http-server.ts";
import { fromDurationsMs, printTable } from "./harness.ts";

const CLI = path.join(import.meta.dirname, "..", "..", "src", "cli", "main.ts");
const EXECUTIONS = 4;
const CALLS = 20;
const CELL = `for (let i = 0; i < ${CALLS}; i++) await ping(i); 1`;

function startWorker(url: string): Promise<{ child: ChildProcess; exited: Promise<unknown> }> {
  const child = spawn(process.execPath, [CLI, "worker", "--url", url, "--concurrency", "1"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes(" in group ")) resolve({ child, exited });
    });
    void exited.then(() => reject(new Error("worker exited before joining")));
  });
}

export default async function run(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-groups-caps-bench-"));
  const server: RunningServer = await serve({ dir: path.join(root, "served"), port: 0 });
  const capsule = await Capsule.open({ url: server.url, group: "orchestrators" });
  const worker = await startWorker(server.url);
  try {
    const gaps: Record<string, number[]> = { "": [], cells: [] };
    const job = capsule.register("caps", async (ctx, group: string) => {
      const s = ctx.session("main", group === "" ? {} : { group });
      let last: number | undefined;
      const ping = (i: number) => {
        const now = performance.now();
        if (last !== undefined) gaps[group]?.push(now - last);
        last = now;
        return i;
      };
      await s.execute(CELL, { capabilities: { ping } });
      return 1;
    });
    for (const group of ["", "cells"]) {
      for (let i = 0; i < EXECUTIONS; i++) await (await job.run(`${group}-${i}`, group)).result();
    }
    // The first execution of each warms up (a worker's first session, the server's caches).
    const skip = CALLS - 1;
    printTable(
      `one durable capability call, cell to host function and back (${(EXECUTIONS - 1) * skip} gaps between consecutive calls)`,
      [
        fromDurationsMs("in-process cell", (gaps[""] ?? []).slice(skip)),
        fromDurationsMs("cell in a worker", (gaps.cells ?? []).slice(skip)),
      ],
      "in-process cell",
    );
  } finally {
    worker.child.kill("SIGTERM");
    await worker.exited;
    await capsule.close();
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
