/**
 * An agent loop on Capsule: a (scripted, offline) model writes code cells, the cells run
 * in a durable session, and the model reads each result — or the ExecutionError of a
 * failing cell — to decide what to write next. Its own mistakes are recovered from:
 * a `ReferenceError: x is not defined` makes it define `x` and retry the cell.
 *
 * Every model call (`ctx.run(think)`) and every cell is a durable step, so the agent
 * survives a crash: the narrator (this file run plainly) starts the agent in a child
 * process, kills it with SIGKILL after step 4, and starts it again. The recorded steps
 * (including the failed cells and their errors) are replayed without running; the rest
 * runs on a worker restored from the last checkpoint, where the helpers the agent defined
 * before the crash still exist. No network, no stdin; the store is a temp dir, removed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import type { Info } from "@resonatehq/sdk/async";
import { Capsule } from "../durable/index.ts";
import { ExecutionError } from "../src/index.ts";

const TASK = "the mean of the prime numbers below 100";

interface Observation {
  code: string;
  ok: boolean;
  display?: string;
  error?: { errorName: string; message: string };
}

type Proposal = { kind: "cell"; code: string; why: string } | { kind: "answer"; text: string };

/** The plan the model follows; a goal is done once its cell succeeded. */
const GOALS = [
  {
    code: "const primes = range(2, 100).filter(isPrime);\nprimes.length",
    why: "collect the primes",
  },
  {
    code: "const mean = primes.reduce((a, b) => a + b, 0) / primes.length;\nmean",
    why: "average them",
  },
];

/** What the model knows how to write when a name is missing. */
const HELPERS: Record<string, string> = {
  range:
    "function range(from, to) {\n  return Array.from({ length: to - from }, (_, i) => from + i);\n}",
  isPrime:
    "function isPrime(n) {\n  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;\n  return n > 1;\n}",
};

/** The scripted model: the next proposal from the history alone (deterministic). */
function think(_info: Info, history: Observation[]): Proposal {
  const last = history.at(-1);
  if (last !== undefined && !last.ok) {
    const missing = /(\w+) is not defined/.exec(last.error?.message ?? "")?.[1];
    const helper = missing === undefined ? undefined : HELPERS[missing];
    if (missing === undefined || helper === undefined) {
      return { kind: "answer", text: `giving up after: ${last.error?.message}` };
    }
    return {
      kind: "cell",
      code: helper,
      why: `the cell failed (${last.error?.message}): define ${missing}`,
    };
  }
  const done = GOALS.filter((goal) => history.some((h) => h.ok && h.code === goal.code)).length;
  const goal = GOALS[done];
  if (goal !== undefined) return { kind: "cell", code: goal.code, why: goal.why };
  return { kind: "answer", text: `${TASK} is ${last?.display}` };
}

type AgentEvent =
  | { event: "think"; step: number; proposal: Proposal }
  | { event: "cell"; step: number; observation: Observation; replayed: boolean }
  | { event: "answer"; text: string };

// ---------------------------------------------------------------- agent role

async function agent(dir: string): Promise<void> {
  const emit = (event: AgentEvent) => process.stdout.write(`${JSON.stringify(event)}\n`);
  const capsule = await Capsule.open({ dir, pool: { minIdle: 0 } });
  const solve = capsule.register("agent", async (ctx) => {
    const session = ctx.session("scratch");
    const history: Observation[] = [];
    for (let step = 1; step <= 12; step++) {
      const proposal = await ctx.run(think, history);
      emit({ event: "think", step, proposal });
      if (proposal.kind === "answer") return proposal.text;
      let observation: Observation;
      try {
        const result = await session.execute(proposal.code);
        observation = { code: proposal.code, ok: true, display: result.display };
      } catch (error) {
        if (!(error instanceof ExecutionError)) throw error;
        observation = {
          code: proposal.code,
          ok: false,
          error: { errorName: error.errorName, message: error.message },
        };
      }
      // The session leases a worker only when a cell must really run: none yet means
      // every cell so far came from the record.
      emit({ event: "cell", step, observation, replayed: session.workerPid === undefined });
      history.push(observation);
    }
    return "no answer within 12 steps";
  });
  const handle = await solve.run("agent-1");
  emit({ event: "answer", text: String(await handle.result()) });
  await capsule.close();
}

// ---------------------------------------------------------------- narrator role

function startAgent(dir: string): { child: ChildProcess; events: readline.Interface } {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "agent", dir], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (child.stdout === null) throw new Error("agent has no stdout");
  return { child, events: readline.createInterface({ input: child.stdout }) };
}

function show(event: AgentEvent, run: string): void {
  const prefix = `  ${run} │`;
  const indented = (text: string) => text.split("\n").join(`\n${prefix}         `);
  if (event.event === "think") {
    if (event.proposal.kind === "answer") console.log(`${prefix} step ${event.step} model: done`);
    else {
      console.log(`${prefix} step ${event.step} model: ${event.proposal.why}`);
      console.log(`${prefix}   cell: ${indented(event.proposal.code)}`);
    }
  } else if (event.event === "cell") {
    const how = event.replayed ? "replayed from the record" : "ran";
    const what = event.observation.ok
      ? `→ ${event.observation.display}`
      : `✖ ${event.observation.error?.message}`;
    console.log(`${prefix}   ${how} ${what}`);
  } else {
    console.log(`${prefix} answer: ${event.text}`);
  }
}

async function narrate(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-agent-loop-"));
  const children: ChildProcess[] = [];
  try {
    console.log(`Capsule: an agent loop computing ${TASK}`);
    console.log(`store: ${dir}\n`);
    console.log("── run 1: the agent starts; it is killed with SIGKILL after step 4");
    const first = startAgent(dir);
    children.push(first.child);
    const killed = new Promise((resolve) =>
      first.child.once("exit", (_c, signal) => resolve(signal)),
    );
    for await (const line of first.events) {
      const event = JSON.parse(line) as AgentEvent;
      show(event, "run 1");
      if (event.event === "cell" && event.step === 4) {
        console.log(`  run 1 │ ✖ kill -9 ${first.child.pid} (the agent's process)`);
        first.child.kill("SIGKILL");
        break;
      }
    }
    console.log(`  run 1 │ agent ended by ${String(await killed)}\n`);

    console.log("── run 2: the same agent id started again");
    const second = startAgent(dir);
    children.push(second.child);
    let answer = "";
    const replayedSteps: number[] = [];
    const ranSteps: number[] = [];
    for await (const line of second.events) {
      const event = JSON.parse(line) as AgentEvent;
      show(event, "run 2");
      if (event.event === "cell") (event.replayed ? replayedSteps : ranSteps).push(event.step);
      if (event.event === "answer") answer = event.text;
    }
    const code = await new Promise<number | null>((resolve) => {
      if (second.child.exitCode !== null) resolve(second.child.exitCode);
      else second.child.once("exit", (exitCode) => resolve(exitCode));
    });
    if (code !== 0) throw new Error(`the resumed agent failed (exit ${code})`);
    console.log("\n── summary");
    console.log(`  cells replayed from the record: steps ${replayedSteps.join(", ")}`);
    console.log(`  cells run after the restart:    steps ${ranSteps.join(", ")}`);
    console.log(`  answer: ${answer}`);
    const primes = Array.from({ length: 98 }, (_, i) => i + 2).filter((n) =>
      Array.from({ length: n - 2 }, (_, i) => i + 2).every((d) => n % d !== 0),
    );
    const expected = `${TASK} is ${primes.reduce((a, b) => a + b, 0) / primes.length}`;
    if (answer !== expected) throw new Error(`expected "${expected}"`);
  } finally {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "agent") {
  const dir = process.argv[3];
  if (dir === undefined) throw new Error("usage: agent-loop.ts agent <dir>");
  await agent(dir);
} else {
  await narrate();
}
