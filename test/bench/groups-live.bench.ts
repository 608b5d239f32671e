import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Capsule } from "../../durable/index.ts";
import { type RunningServer, serve } from "../../durable/serve/http-server.ts";
import { startCliWorker, stopCliWorker } from "./cli-workers.ts";
import { fromDurationsMs, printTable } from "./harness.ts";

const EXECUTIONS = 6;
const PRINTS = 10;
// Prints spread over ~1 s, so that each line is one chunk and the watch is mid-poll.
const CELL = `for (let i = 0; i < ${PRINTS}; i++) { console.log(Date.now()); await new Promise((r) => setTimeout(r, 100)); } 1`;

export default async function run(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-groups-live-bench-"));
  const server: RunningServer = await serve({ dir: path.join(root, "served"), port: 0 });
  const capsule = await Capsule.open({ url: server.url, group: "orchestrators" });
  const worker = await startCliWorker(server.url);
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
    await stopCliWorker(worker);
    await capsule.close();
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
