// Capability call round trip, printed as JSON: N sequential calls in one cell, on a plain
// session and inside a durable execute (embedded store). Run: node test/capabilities/measure-capabilities.ts
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Capsule } from "../../durable/index.ts";
import { Session } from "../../src/session/session.ts";

const N = 500;
const cell = `for (let i = 0; i < ${N}; i++) await ping(i); "done"`;
const session = new Session({ capabilities: { ping: async (i: number) => i } });
await session.start();
await session.execute(cell); // warm
const plain: number[] = [];
for (let r = 0; r < 5; r++) {
  const t = performance.now();
  await session.execute(cell);
  plain.push((performance.now() - t) / N);
}
await session.close();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cap-measure-"));
const capsule = await Capsule.open({
  dir,
  pool: { minIdle: 1, capabilities: { ping: async (i: number) => i } },
});
const job = capsule.register("measure", async (ctx) => {
  const s = ctx.session("m");
  const times: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    await s.execute(cell);
    times.push((performance.now() - t) / N);
  }
  return times;
});
const durable = (await (await job.run("m-1")).result()) as number[];
await capsule.close();
fs.rmSync(dir, { recursive: true, force: true });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  JSON.stringify({
    calls: N,
    plainMsPerCall: +median(plain).toFixed(3),
    durableMsPerCall: +median(durable).toFixed(3),
  }),
);
