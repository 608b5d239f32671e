import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Capsule } from "../../durable/index.ts";
import { type RunningServer, serve } from "../../durable/serve/http-server.ts";
import { startCliWorker, stopCliWorker } from "./cli-workers.ts";
import { fromDurationsMs, printTable } from "./harness.ts";

const EXECUTIONS = 4;
const CALLS = 20;
const CELL = `for (let i = 0; i < ${CALLS}; i++) await ping(i); 1`;

export default async function run(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-groups-caps-bench-"));
  const server: RunningServer = await serve({ dir: path.join(root, "served"), port: 0 });
  const capsule = await Capsule.open({ url: server.url, group: "orchestrators" });
  const worker = await startCliWorker(server.url);
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
    await stopCliWorker(worker);
    await capsule.close();
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
