import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Capsule } from "../../durable/index.ts";
import { type RunningServer, serve } from "../../durable/serve/http-server.ts";
import { type CliWorker, startCliWorker, stopCliWorker } from "./cli-workers.ts";
import { fromDurationsMs, type Measurement, printTable } from "./harness.ts";

const EXECUTIONS = 10;
const STEPS = 5;
const CONCURRENT = 4;
// The loop's variables are the function's: a loop over top-level (namespace) names
// costs ~3 µs an iteration in a session and would measure that instead.
const CPU_CELL = "(() => { let x = 0; for (let i = 0; i < 3e6; i++) x += i; return x; })()";
const KILLS = 2;
const ROUNDS = 3;

/** A worker that may read and write the bench's side directory, with a lease of `leaseMs`. */
function startWorker(url: string, side: string, leaseMs = 10_000): Promise<CliWorker> {
  const grants = ["--allow-fs-read", side, "--allow-fs-write", side];
  return startCliWorker(url, ["--lease", String(leaseMs), ...grants]);
}

export default async function run(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-groups-bench-"));
  const side = path.join(root, "side");
  fs.mkdirSync(side);
  const server: RunningServer = await serve({ dir: path.join(root, "served"), port: 0 });
  const capsule = await Capsule.open({
    url: server.url,
    group: "orchestrators",
    pool: { minIdle: 1 },
  });
  const workers: CliWorker[] = [];
  try {
    const steps = capsule.register("steps", async (ctx, group: string, code: string) => {
      const s = ctx.session("main", group === "" ? {} : { group });
      for (let i = 0; i < STEPS; i++) await s.execute(code);
      return STEPS;
    });
    // Wall time of whole executions per cell: a remote cell's pass suspends and the next
    // pass replays it, so the cost of a cell is what the execution as a whole pays.
    const latency = async (label: string, group: string): Promise<Measurement> => {
      for (let i = 0; i < 2; i++)
        await (await steps.run(`warm-${label}-${i}`, group, "1")).result();
      const samples: number[] = [];
      for (let i = 0; i < EXECUTIONS; i++) {
        const started = performance.now();
        await (await steps.run(`${label}-${i}`, group, "1")).result();
        samples.push((performance.now() - started) / STEPS);
      }
      return fromDurationsMs(label, samples);
    };
    workers.push(await startWorker(server.url, side));
    const local = await latency("execute('1') in-process (orchestrator's pool)", "");
    const remote = await latency("execute('1') in a worker (group)", "cells");
    printTable(
      `durable cell round trip (execution wall time / cells), ${EXECUTIONS} executions x ${STEPS} cells, against capsule serve`,
      [local, remote],
      local.name,
    );

    const throughput = async (label: string): Promise<Measurement> => {
      const rounds: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const started = performance.now();
        await Promise.all(
          Array.from({ length: CONCURRENT }, async (_, i) =>
            (await steps.run(`${label}-${round}-${i}`, "cells", CPU_CELL)).result(),
          ),
        );
        rounds.push(performance.now() - started);
      }
      const ms = rounds.sort((x, y) => x - y)[Math.floor(ROUNDS / 2)] ?? Number.NaN;
      const cells = CONCURRENT * STEPS;
      return {
        name: label,
        medianUs: (ms * 1000) / cells,
        p99Us: Number.NaN,
        opsPerSec: cells / (ms / 1000),
      };
    };
    const one = await throughput("1 worker");
    workers.push(await startWorker(server.url, side));
    const two = await throughput("2 workers");
    workers.push(
      ...(await Promise.all([startWorker(server.url, side), startWorker(server.url, side)])),
    );
    const four = await throughput("4 workers");
    printTable(
      `cells/s, ${CONCURRENT} concurrent executions x ${STEPS} cells of a 3e6-iteration loop (time per cell = median round wall / cells, ${ROUNDS} rounds)`,
      [one, two, four],
      one.name,
    );

    for (const worker of workers.splice(0)) await stopCliWorker(worker);
    const moved: number[] = [];
    // The function runs in this process: it tells the loop below which worker holds the
    // session (cell 1), whose next cell (2, on the same worker by affinity) hangs.
    const holders = new Map<number, number | undefined>();
    const hang = capsule.register("hang", async (ctx, n: number) => {
      const s = ctx.session("h", { group: "cells" });
      holders.set(n, (await s.execute("1")).ranOn?.hostPid);
      const flag = JSON.stringify(path.join(side, `started-${n}`));
      const result = await s.execute(
        `const fs = require("node:fs"); if (!fs.existsSync(${flag})) { fs.writeFileSync(${flag}, ""); await new Promise(() => {}); } 1`,
      );
      return result.ranOn?.hostPid;
    });
    for (let n = 0; n < KILLS; n++) {
      const pair = [
        await startWorker(server.url, side, 1_000),
        await startWorker(server.url, side, 1_000),
      ];
      workers.push(...pair);
      const flag = path.join(side, `started-${n}`);
      const started = new Promise<void>((resolve) => {
        const watcher = fs.watch(side, () => {
          if (fs.existsSync(flag)) {
            watcher.close();
            resolve();
          }
        });
      });
      const handle = await hang.run(`hang-${n}`, n);
      await started;
      const holder = pair.find((worker) => worker.child.pid === holders.get(n));
      if (holder === undefined) throw new Error("the hanging cell runs on no worker of ours");
      const killedAt = performance.now();
      await stopCliWorker(holder, "SIGKILL");
      workers.splice(workers.indexOf(holder), 1);
      await handle.result();
      moved.push(performance.now() - killedAt);
      for (const worker of workers.splice(0)) await stopCliWorker(worker);
    }
    printTable(
      `kill -9 of the worker running a cell -> the cell's result from the other worker (lease 1 s), ${KILLS} kills`,
      [fromDurationsMs("kill -9 to result elsewhere", moved)],
      "kill -9 to result elsewhere",
    );
  } finally {
    for (const worker of workers) await stopCliWorker(worker);
    await capsule.close();
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
