// Kernel timings on this machine: `node test/kernel/measure.ts` (the project's Node).
// Start to ready, an execute round trip, a complete round trip, and kill -9 to the
// first result that needs the restored namespace. Prints one JSON line.
import { performance } from "node:perf_hooks";
import { cleanup, tempDir } from "../cli/cli-process.ts";
import { startKernel } from "./kernel-process.ts";

const median = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const starts: number[] = [];
const dir = tempDir("kbench-");
let t = performance.now();
let k = await startKernel({ dir });
starts.push(performance.now() - t);
await k.client.execute(
  "const big = Array.from({ length: 1000 }, (_, i) => ({ i, name: 'n' + i }))",
);
const exec: number[] = [];
for (let i = 0; i < 20; i++) {
  t = performance.now();
  await k.client.execute(`${i} + 1`);
  exec.push(performance.now() - t);
}
const comp: number[] = [];
for (let i = 0; i < 20; i++) {
  t = performance.now();
  await k.client.request("shell", "complete_request", { code: "big.fil", cursor_pos: 7 });
  comp.push(performance.now() - t);
}
const recover: number[] = [];
for (let i = 0; i < 3; i++) {
  k.client.close();
  k.cli.child.kill("SIGKILL");
  await k.cli.exited;
  t = performance.now();
  k = await startKernel({ dir });
  const r = await k.client.execute("big.length");
  recover.push(performance.now() - t);
  if (!JSON.stringify(r.iopub).includes('"1000"')) throw new Error("state not back");
}
k.client.close();
await cleanup();
console.log(
  JSON.stringify({
    kernelStartToReadyMs: Math.round(starts[0] ?? Number.NaN),
    executeRoundTripMedianMs: +median(exec).toFixed(1),
    completeRoundTripMedianMs: +median(comp).toFixed(1),
    kill9ToFirstRestoredResultMedianMs: Math.round(median(recover)),
  }),
);
process.exit(0);
