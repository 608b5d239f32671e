/**
 * Live output of a remote cell (durable/groups/output-log.ts, remote-watch.ts), against
 * `capsule serve` on 127.0.0.1 in this process and one `capsule worker` started through
 * the CLI: the time from a cell's console.log to the orchestrator's onOutput receiving
 * it live (the cell prints Date.now(); one machine, one clock), for a cell in a worker
 * against the same cell in the orchestrator's own pool (the baseline), same run; and
 * what watching costs a remote cell: the execution's wall time with onOutput against
 * without.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Capsule } from "../../durable/index.ts";
import { type RunningServer, serve } from "../../durable/serve/http-server.ts";
import { fromDurationsMs, printTable } from "./harness.ts";

const CLI = path.join(import.meta.dirname, "..", "..", "src", "cli", "main.ts");
const EXECUTIONS = 6;
const PRINTS = 10;
// Prints spread over ~1 s, so that each line is one chunk and the watch is mid-poll.
const CELL = `for (let i = 0; i < ${PRINTS}; i++) { console.log(Date.now()); await new Promise((r) => setTimeout(r, 100)); } 1`;

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
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-groups-live-bench-"));
  const server: RunningServer = await serve({ dir: path.join(root, "served"), port: 0 });
  const capsule = await Capsule.open({ url: server.url, group: "orchestrators" });
  const worker = await startWorker(server.url);
  try {
    const lags: Record<string, number[]> = { "": [], cells: [] };
    const job = capsule.register("live", async (ctx, group: string, watch: boolean) => {
      const s = ctx.session("main", group === "" ? {} : { group });
      const onOutput = (chunk: { data: string; replayed?: boolean }) => {
        if (chunk.replayed === true) return;
        for (const line of chunk.data.split("\n").filter(Boolean)) {
          lags[group]?.push(Date.now() - Number(line));
        }
      };
      await s.execute(CELL, watch ? { onOutput } : {});
      return 1;
    });
    const wall = async (label: string, group: string, watch: boolean) => {
      const samples: number[] = [];
      for (let i = 0; i < EXECUTIONS; i++) {
        const started = performance.now();
        await (await job.run(`${label}-${i}`, group, watch)).result();
        if (i > 0) samples.push(performance.now() - started); // the first one warms up
      }
      return fromDurationsMs(label, samples);
    };
    await wall("local", "", true);
    await wall("remote", "cells", true);
    const firstLocal = lags[""]?.length ?? 0;
    const firstRemote = lags.cells?.length ?? 0;
    printTable(
      `print in a cell to onOutput, live (${(EXECUTIONS - 1) * PRINTS} prints each after a warm-up execution, prints 100 ms apart)`,
      [
        fromDurationsMs("in-process cell", (lags[""] ?? []).slice(PRINTS)),
        fromDurationsMs("cell in a worker (output log)", (lags.cells ?? []).slice(PRINTS)),
      ],
      "in-process cell",
    );
    console.log(
      `(prints that reached onOutput unmarked: in-process ${firstLocal}, remote ${firstRemote} of ${EXECUTIONS * PRINTS} prints)`,
    );
    const without = await wall("remote cell, no onOutput", "cells", false);
    const watched = await wall("remote cell, onOutput", "cells", true);
    printTable(
      `execution wall time of one remote cell printing ${PRINTS} lines over ~1 s`,
      [without, watched],
      without.name,
    );
  } finally {
    worker.child.kill("SIGTERM");
    await worker.exited;
    await capsule.close();
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
