// Completion and inspection are `introspect` protocol requests to the session's worker,
// not cells: over real ZeroMQ against a real kernel process, they are answered while a
// cell is running and awaiting, they record nothing, and a cell that holds the worker's
// thread gets an empty answer in bounded time instead of a hung editor.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanup } from "../cli/cli-process.ts";
import { type RunningKernel, startKernel } from "./kernel-process.ts";

describe("capsule kernel completion while a cell runs", () => {
  let kernel: RunningKernel;

  beforeAll(async () => {
    kernel = await startKernel();
    await kernel.client.execute("const warehouse = { bins: 4, bays: 2 }");
  });
  afterAll(async () => {
    kernel?.client.close();
    await cleanup();
  });

  it("answers complete and inspect while a cell awaits, with what the cell did so far", async () => {
    const cell = await kernel.client.send("shell", "execute_request", {
      code: 'globalThis.midCell = { step: 1 }; const answer = await input("go? "); answer',
      allow_stdin: true,
    });
    const request = await kernel.client.waitFor(
      (m) => m.channel === "stdin" && m.parent_header.msg_id === cell,
    );
    // The cell is still running (it waits for the answer): completion does not wait for it.
    const complete = await kernel.client.request("shell", "complete_request", {
      code: "warehouse.b",
      cursor_pos: 11,
    });
    expect(complete.content).toMatchObject({ status: "ok", matches: ["bays", "bins"] });
    const mid = await kernel.client.request("shell", "inspect_request", {
      code: "midCell",
      cursor_pos: 3,
    });
    expect(mid.content).toMatchObject({ status: "ok", found: true });
    expect((mid.content.data as Record<string, string>)["text/plain"]).toContain("step: 1");
    await kernel.client.send("stdin", "input_reply", { value: "yes" }, request.header);
    expect((await kernel.client.reply(cell)).content.status).toBe("ok");
    await kernel.client.idle(cell);
    // No status was published for them while the cell ran (an idle would tell the
    // frontend the kernel is free): iopub is one ordered stream, so one would be here now.
    for (const read of [complete, mid]) {
      const statuses = kernel.client
        .iopubOf(read.parent_header.msg_id as string)
        .filter((m) => m.header.msg_type === "status");
      expect(statuses).toEqual([]);
    }
  });

  it("records nothing: history and execution count are as before", async () => {
    const first = await kernel.client.execute("1");
    const count = first.reply.content.execution_count as number;
    await kernel.client.request("shell", "complete_request", { code: "ware", cursor_pos: 4 });
    await kernel.client.request("shell", "inspect_request", { code: "warehouse", cursor_pos: 1 });
    const next = await kernel.client.execute("_");
    expect(next.reply.content.execution_count).toBe(count + 1);
    // `_` is still the last cell's value, not something a completion produced.
    expect(next.iopub.find((m) => m.header.msg_type === "execute_result")?.content.data).toEqual({
      "text/plain": "1",
    });
  });

  it("gives an empty answer, in bounded time, while a blocking cell holds the worker", async () => {
    const id = await kernel.client.send("shell", "execute_request", {
      code: 'console.log("spinning"); while (true) {}',
    });
    await kernel.client.waitFor(
      (m) => m.parent_header.msg_id === id && m.header.msg_type === "stream",
    );
    const reply = await kernel.client.request("shell", "complete_request", {
      code: "warehouse.",
      cursor_pos: 10,
    });
    expect(reply.content).toMatchObject({ status: "ok", matches: [] });
    await kernel.client.request("control", "interrupt_request");
    expect((await kernel.client.reply(id)).content.status).toBe("error");
    await kernel.client.idle(id);
    // Once the cell is stopped the worker answers again.
    const after = await kernel.client.request("shell", "complete_request", {
      code: "warehouse.",
      cursor_pos: 10,
    });
    expect(after.content.matches).toEqual(expect.arrayContaining(["bays", "bins"]));
  });
});
