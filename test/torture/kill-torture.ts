/**
 * Kill torture: concurrent durable executions, `kill -9` of the orchestrator at seeded
 * moments (a random delay, or just after a chosen recorded step), restart, repeat, then
 * let the run finish and check every invariant a user relies on:
 * - each execution ends with the crash-free value;
 * - no recorded step ran again (effects.log, see fixtures/torture-child.ts);
 * - nothing is left pending or leased in the store, and it passes `integrity_check`;
 * - no orphan worker process and no session directory is left behind.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { EmbeddedNetwork } from "../../durable/store/index.ts";
import { mulberry32, randomInt } from "../protocol/prng.ts";
import { type JsonLinesChild, startJsonLinesChild } from "../support/json-lines-child.ts";
import type { Figures } from "./figures.ts";
import { orphanedWorkers } from "./orphans.ts";

const CHILD = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "fixtures",
  "torture-child.ts",
);
/** Recorded steps of one execution of the workload (a..h). */
const STEPS_PER_EXECUTION = 8;
const expected = (i: number) => 11 * i + 137;

export interface KillTortureOptions {
  seed: number;
  /** Rounds go on until this many kills landed (a round that finishes early kills fewer). */
  kills: number;
  killsPerRound: number;
  executions: number;
}

export async function killTorture(options: KillTortureOptions, figures: Figures): Promise<void> {
  const random = mulberry32(options.seed);
  const landed = () => figures.row("orchestrator kill -9").injected;
  // Bounded: a run where kills keep missing (every round finishing first) still ends.
  const maxRounds = Math.ceil((3 * options.kills) / options.killsPerRound);
  for (let round = 0; round < maxRounds && landed() < options.kills; round++) {
    await oneRound(round, options, random, figures);
  }
  if (landed() < options.kills)
    figures.violation(
      `kill torture: only ${landed()} of ${options.kills} kills landed in ${maxRounds} rounds`,
    );
}

async function oneRound(
  round: number,
  options: KillTortureOptions,
  random: () => number,
  figures: Figures,
): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-torture-"));
  const dir = path.join(root, "store");
  const side = path.join(root, "side");
  const tmp = path.join(root, "tmp");
  fs.mkdirSync(side);
  fs.mkdirSync(tmp);
  // The child's os.tmpdir() is the round's own, so directories it leaves are countable.
  const env = { ...process.env, TMPDIR: tmp };
  const pids: number[] = [];
  const start = () => {
    const child = startJsonLinesChild(CHILD, [dir, side, String(options.executions)], env);
    if (child.process.pid !== undefined) pids.push(child.process.pid);
    return child;
  };
  const where = `round ${round}`;
  try {
    let finished: JsonLinesChild | undefined;
    for (let kill = 0; kill < options.killsPerRound && finished === undefined; kill++) {
      const child = start();
      const spawned = performance.now();
      const byStep = random() < 0.5;
      const total = options.executions * STEPS_PER_EXECUTION;
      const trigger = byStep
        ? child.next("step").then(() => {
            const after = 1 + randomInt(random, total - 1);
            return child.next(
              "step",
              () => child.reports().filter((r) => r.event === "step").length >= after,
            );
          })
        : child.next("opened").then(() => delay(randomInt(random, 600)));
      const progress = child.next("step").then(
        () => performance.now() - spawned,
        () => undefined,
      );
      const outcome = await Promise.race([
        trigger.then(() => "kill" as const),
        child.next("done").then(() => "done" as const),
      ]).catch((error: unknown) => error as Error);
      if (outcome instanceof Error) {
        figures.record("orchestrator kill -9", {
          violation: `${where}: child failed: ${outcome.message.slice(0, 400)}`,
        });
        return;
      }
      if (outcome === "done") {
        finished = child;
        break;
      }
      child.process.kill("SIGKILL");
      await child.exited;
      const recoveryMs = kill === 0 ? undefined : await progress;
      figures.record("orchestrator kill -9", recoveryMs === undefined ? {} : { recoveryMs });
    }
    const last = finished ?? start();
    const done = await last.next("done").catch((error: unknown) => error as Error);
    await last.exited;
    if (done instanceof Error) {
      figures.violation(`${where}: the final run failed: ${done.message.slice(0, 400)}`);
      return;
    }
    checkResults(where, done.results, options.executions, figures);
    checkEffects(where, fs.readFileSync(path.join(side, "effects.log"), "utf8"), figures);
    await checkStore(where, dir, figures);
    await checkLeftovers(
      `${where} (orchestrators ${pids.join(", ")}, the last ran to the end)`,
      tmp,
      figures,
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

function checkResults(where: string, results: unknown, count: number, figures: Figures): void {
  const want = Array.from({ length: count }, (_, i) => expected(i));
  if (JSON.stringify(results) !== JSON.stringify(want))
    figures.violation(
      `${where}: results ${JSON.stringify(results)} instead of ${JSON.stringify(want)}`,
    );
}

/** A `ran` line after the `rec` line of the same step: a recorded step ran again. */
function checkEffects(where: string, log: string, figures: Figures): void {
  const recorded = new Set<string>();
  for (const line of log.split("\n")) {
    const [kind, key] = line.split(" ");
    if (key === undefined) continue;
    if (kind === "rec") recorded.add(key);
    else if (kind === "ran" && recorded.has(key))
      figures.violation(`${where}: recorded step ${key} ran again`);
  }
}

async function checkStore(where: string, dir: string, figures: Figures): Promise<void> {
  const network = EmbeddedNetwork.open({ dir, keepLeasesAlive: false });
  try {
    const server = Reflect.get(network, "server") as {
      promises: Map<string, { id: string; state: string }>;
      tasks: Map<string, { id: string; state: string }>;
    };
    for (const promise of server.promises.values())
      if (promise.state === "pending")
        figures.violation(`${where}: promise ${promise.id} left pending`);
    for (const task of server.tasks.values())
      if (task.state === "acquired" || task.state === "pending")
        figures.violation(`${where}: task ${task.id} left ${task.state}`);
  } finally {
    await network.close();
  }
  const db = new DatabaseSync(path.join(dir, "store.db"), { readOnly: true });
  try {
    const check = db.prepare("PRAGMA integrity_check").get() as Record<string, unknown>;
    const verdict = Object.values(check)[0];
    if (verdict !== "ok") figures.violation(`${where}: integrity_check says ${String(verdict)}`);
  } finally {
    db.close();
  }
}

async function checkLeftovers(where: string, tmp: string, figures: Figures): Promise<void> {
  const orphans = await orphanedWorkers();
  if (orphans.length > 0) figures.violation(`${where}: orphan workers ${orphans.join(", ")}`);
  const dirs = fs.readdirSync(tmp).filter((name) => name.startsWith("capsule-session-"));
  if (dirs.length > 0)
    figures.violation(`${where}: session directories left behind: ${dirs.join(", ")}`);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
