/**
 * Human in the loop: a durable deploy job asks for approval in a cell (`input()`), and
 * nobody is there to answer. The process exits; `capsule answer` approves from another
 * process; a restart finishes the job. The question is a durable promise in the store,
 * so it outlives the process that asked it, and the restarted cell gets the answer at
 * once instead of asking again. The job tells the world through a host capability,
 * `notify`, whose call is recorded too.
 *
 * This file plays two roles. Run plainly, it is the narrator: it creates a temporary
 * store, runs itself as the orchestrator (`human-in-the-loop.ts orchestrate <dir>`) until
 * it has asked and exited, answers with the CLI, runs the orchestrator again, and shows
 * the result. It needs no input and removes its store.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Capsule } from "../durable/index.ts";

const SELF = fileURLToPath(import.meta.url);
const CLI = path.join(path.dirname(SELF), "..", "src", "cli", "capsule");

const CELLS = [
  `const plan = { service: "web", from: "v41", to: "v42", replicas: 3 };
console.log("plan: " + plan.service + " " + plan.from + " -> " + plan.to);
plan`,
  `const answer = await input("deploy " + plan.service + " " + plan.to + " to " + plan.replicas + " replicas? (yes/no)")`,
  `const outcome = answer === "yes" ? "deployed " + plan.to : "left at " + plan.from;
await notify("#ops", plan.service + ": " + outcome);
outcome`,
];

async function orchestrate(dir: string): Promise<void> {
  const capsule = await Capsule.open({
    dir,
    // Closing while a cell waits makes the SDK warn about the task it was running.
    logLevel: "error",
    pool: {
      minIdle: 0,
      capabilities: {
        notify: async (channel: string, text: string) => {
          console.log(`  [host] notify ${channel}: ${text}`);
          return { delivered: true };
        },
      },
    },
  });
  const job = capsule.register("deploy", async (ctx) => {
    const session = ctx.session("main");
    let value: unknown;
    for (const [index, code] of CELLS.entries()) {
      const result = await session.execute(code, {
        onOutput: (chunk) => process.stdout.write(`  cell ${index + 1} │ ${chunk.data}`),
      });
      console.log(`  cell ${index + 1} ${result.replayed ? "replayed from the record" : "ran"}`);
      value = result.value;
    }
    return value;
  });
  const handle = await job.run("deploy-1");
  // Either the job finishes (the answer is in) or it waits on a question: then exit.
  const finished = handle.result().then((value) => ({ value }));
  for (;;) {
    const done = await Promise.race([finished, delay(50).then(() => undefined)]);
    if (done !== undefined) {
      console.log(`  result: ${JSON.stringify(done.value)}`);
      break;
    }
    const [question] = await capsule.inputs();
    if (question !== undefined) {
      console.log(`  waiting for an answer to ${question.id}: ${JSON.stringify(question.prompt)}`);
      console.log("  nobody is here to answer: exiting");
      break;
    }
  }
  await capsule.close();
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs a command to its end, echoing its output; resolves with stdout and the exit code. */
function runChild(
  command: string,
  args: string[],
): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
  let stdout = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => {
    stdout += text;
    process.stdout.write(text);
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout })));
}

async function narrate(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-hitl-"));
  try {
    console.log(`Its store: ${dir}\n\nrun 1: the job plans and asks for approval`);
    const first = await runChild(process.execPath, [SELF, "orchestrate", dir]);
    const id = /waiting for an answer to (\S+):/.exec(first.stdout)?.[1];
    if (first.code !== 0 || id === undefined) throw new Error("run 1 did not stop at the question");

    console.log("\nanother process: capsule inputs, then capsule answer");
    await runChild(CLI, ["inputs", "--dir", dir]);
    const answered = await runChild(CLI, ["answer", id, "yes", "--dir", dir]);
    if (answered.code !== 0) throw new Error(`capsule answer exited ${answered.code}`);

    console.log("\nrun 2: the restarted job gets the recorded answer and finishes");
    const second = await runChild(process.execPath, [SELF, "orchestrate", dir]);
    if (second.code !== 0 || !second.stdout.includes('result: "deployed v42"')) {
      throw new Error("run 2 did not finish the job");
    }
    console.log(
      "\nthe question outlived the process that asked it; the job finished once approved",
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const [role, dir] = process.argv.slice(2);
if (role === "orchestrate" && dir !== undefined) await orchestrate(dir);
else await narrate();
