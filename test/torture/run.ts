/**
 * `npm run torture [-- --quick | --long] [--seed N] [--only PHASE] [--json FILE]`
 *
 * Beats on Capsule and prints what survived: kill torture of durable orchestrators,
 * worker faults across a pool, the embedded store against the SDK's in-memory server,
 * and a frame fuzz. Seeded: the seed is printed first and replays the same run.
 * Exits 1 on any violation; CI runs `--quick`.
 */
import { parseArgs } from "node:util";
import { Figures } from "./figures.ts";
import { frameFuzz } from "./frame-fuzz.ts";
import { killTorture } from "./kill-torture.ts";
import { storeDifferential } from "./store-differential.ts";
import { workerFaults } from "./worker-faults.ts";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    long: { type: "boolean", default: false },
    seed: { type: "string" },
    only: { type: "string", multiple: true },
    json: { type: "string", default: ".torture-report.json" },
  },
});

const mode = values.long ? "long" : values.quick ? "quick" : "default";
const seed = values.seed === undefined ? (Date.now() % 2 ** 31) >>> 0 : Number(values.seed);
const scale = { quick: 1, default: 4, long: 20 }[mode];

const phases: Record<string, (figures: Figures) => Promise<void>> = {
  kill: (f) =>
    killTorture(
      {
        seed,
        kills: Number(process.env.TORTURE_KILLS ?? 50 * scale),
        killsPerRound: 5,
        executions: 3,
      },
      f,
    ),
  worker: (f) => workerFaults({ seed, rounds: 2 * scale }, f),
  store: (f) => storeDifferential({ seed, sequences: 40 * scale, requests: 300 }, f),
  fuzz: (f) => frameFuzz({ seed, frames: 100_000 * scale }, f),
};

console.log(
  `capsule torture: mode ${mode}, seed ${seed} (replay: npm run torture -- --${mode === "default" ? "seed" : `${mode} --seed`} ${seed})`,
);
const figures = new Figures();
const started = performance.now();
const phaseResults: { phase: string; seconds: number; violations: number }[] = [];
for (const [name, phase] of Object.entries(phases)) {
  if (values.only !== undefined && !values.only.includes(name)) continue;
  const phaseStarted = performance.now();
  const violationsBefore = figures.violations.length;
  try {
    await phase(figures);
  } catch (error) {
    figures.violation(
      `${name}: the phase itself failed: ${(error as Error).stack ?? String(error)}`,
    );
  }
  const phaseSeconds = (performance.now() - phaseStarted) / 1000;
  phaseResults.push({
    phase: name,
    seconds: phaseSeconds,
    violations: figures.violations.length - violationsBefore,
  });
  console.log(`phase ${name}: ${phaseSeconds.toFixed(1)} s`);
}
const seconds = (performance.now() - started) / 1000;
figures.print(`capsule torture (${mode}, seed ${seed}, ${seconds.toFixed(0)} s)`);
figures.write(values.json, { mode, seed, seconds, node: process.version, phases: phaseResults });
console.log(
  `\n${figures.violations.length === 0 ? "no violations" : `${figures.violations.length} violation(s)`}; figures written to ${values.json}`,
);
process.exit(figures.violations.length === 0 ? 0 : 1);
