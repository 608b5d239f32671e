// input() in a remote cell: a durable question in the store, which the orchestrator's
// onInput answers, or, without one, any answerer (`capsule.answer`, the CLI). Real
// processes: `capsule serve` on port 0, workers through the CLI, an orchestrator fixture.
import { afterEach, beforeEach, expect, it } from "vitest";
import { Capsule, type PendingInput } from "../../durable/index.ts";
import { Cluster } from "./cluster.ts";

let cluster: Cluster;

beforeEach(async () => {
  cluster = new Cluster();
  await cluster.start();
});

afterEach(async () => {
  await cluster.close();
});

it("onInput answers a remote cell's question; a re-run after kill -9 gets the recorded answer", async () => {
  const [a, b] = await Promise.all([cluster.worker(), cluster.worker()]);
  const orchestrator = cluster.fixture("remote-input.ts", ["ask-answer", cluster.side, "answer"]);
  // The cell hangs after its answer, in its first run: kill the worker running it.
  await cluster.sideFile("started-1");
  expect(orchestrator.reports().filter((r) => r.event === "asked")).toEqual([
    { event: "asked", prompt: "who? " },
  ]);
  const cell0 = await orchestrator.next("cell", (r) => r.index === 0);
  const holder = [a, b].find((w) => w.pid === cell0.hostPid);
  if (holder === undefined) throw new Error("cell 0 ran on no worker");
  await cluster.kill(holder);
  const done = await orchestrator.next("done");
  expect((await orchestrator.exited).code, orchestrator.stderr()).toBe(0);
  expect(done.value).toBe("hi ada");
  // The re-run on the other worker met its recorded answer: onInput was asked once.
  expect(orchestrator.reports().filter((r) => r.event === "asked")).toHaveLength(1);
  expect((done.ranOn as { hostPid: number }).hostPid).not.toBe(holder.pid);
  expect(cluster.runs()).toEqual({ q: 2 });
});

it("without onInput the question waits for any answerer, as in-process", async () => {
  await cluster.worker();
  const orchestrator = cluster.fixture("remote-input.ts", ["ask-wait", cluster.side, "wait"]);
  await orchestrator.next("running");
  const observer = await Capsule.open({ url: cluster.server.url, group: "observers" });
  try {
    // Bounded poll of the store: no event tells a third party a question was asked.
    let pending: PendingInput[] = [];
    for (let i = 0; i < 200 && pending.length === 0; i++) {
      pending = await observer.inputs();
      if (pending.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(pending).toEqual([
      expect.objectContaining({ prompt: "who? ", session: "s", execution: "ask-wait" }),
    ]);
    const question = pending[0] as PendingInput;
    await observer.answer(question.id, "grace");
    await expect(observer.answer(question.id, "someone else")).rejects.toMatchObject({
      code: "INPUT_ALREADY_ANSWERED",
    });
  } finally {
    await observer.close();
  }
  const done = await orchestrator.next("done");
  expect(done.value).toBe("hi grace");
  expect((await orchestrator.exited).code, orchestrator.stderr()).toBe(0);
  expect(cluster.runs()).toEqual({ q: 1 });
});

it("an unanswered question of a remote cell times out after the execute's inputTimeoutMs", async () => {
  await cluster.worker();
  const orchestrator = cluster.fixture("remote-input.ts", ["ask-timeout", cluster.side, "timeout"]);
  const done = await orchestrator.next("done");
  expect((await orchestrator.exited).code, orchestrator.stderr()).toBe(0);
  expect(done.value).toBe("INPUT_TIMEOUT");
});
