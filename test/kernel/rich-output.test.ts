// Rich output from anywhere in a cell, over real ZeroMQ against a real kernel process:
// display() as MIME bundles (a value's Jupyter.display bundle, a raw bundle), named
// displays and their updates, display.clear(), and results rendered without running
// the value's getters or proxy traps.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanup } from "../cli/cli-process.ts";
import type { JupyterMessage } from "./jupyter-client.ts";
import { type RunningKernel, startKernel } from "./kernel-process.ts";

const outputs = (iopub: JupyterMessage[]) =>
  iopub.filter((m) => !["status", "execute_input"].includes(m.header.msg_type));

describe("capsule kernel rich output", () => {
  let kernel: RunningKernel;

  beforeAll(async () => {
    kernel = await startKernel();
  });
  afterAll(async () => {
    kernel?.client.close();
    await cleanup();
  });

  it("sends display(value) from the middle of a cell as display_data, in order with streams", async () => {
    const { reply, iopub } = await kernel.client.execute(`
      class Chart {
        constructor(points) { this.points = points }
        [Symbol.for("Jupyter.display")]() {
          return { "text/html": "<b>" + this.points + " points</b>", "image/png": Buffer.from([137, 80, 78, 71]) };
        }
      }
      console.log("before");
      display(new Chart(3));
      display({ "text/markdown": "# Title", "application/json": { n: 1 } }, { raw: true });
      console.log("after");
      "done"`);
    expect(reply.content.status).toBe("ok");
    const id = reply.parent_header.msg_id;
    const shown = outputs(iopub);
    expect(shown.map((m) => m.header.msg_type)).toEqual([
      "stream",
      "display_data",
      "display_data",
      "stream",
      "execute_result",
    ]);
    // Every output names the execute_request as its parent.
    for (const message of shown) expect(message.parent_header.msg_id).toBe(id);
    expect(shown[1]?.content).toEqual({
      data: {
        "text/plain": "Chart { points: 3 }",
        "text/html": "<b>3 points</b>",
        "image/png": Buffer.from([137, 80, 78, 71]).toString("base64"),
      },
      metadata: {},
      transient: {},
    });
    expect(shown[2]?.content.data).toEqual({
      "text/markdown": "# Title",
      "application/json": { n: 1 },
    });
  });

  it("streams a display while the cell still runs, also from a cell that blocks its thread", async () => {
    // A synchronous input() holds the worker's main thread until we answer, so a display
    // that arrives before the answer was streamed while the cell ran. (iopub and stdin are
    // separate sockets: their messages are not ordered with each other.)
    const cell = await kernel.client.send("shell", "execute_request", {
      code: 'display({ "text/html": "<i>working</i>" }, { raw: true }); const go = input("go? "); go',
      allow_stdin: true,
    });
    const asked = await kernel.client.waitFor(
      (m) => m.channel === "stdin" && m.parent_header.msg_id === cell,
    );
    const shown = await kernel.client.waitFor(
      (m) => m.header.msg_type === "display_data" && m.parent_header.msg_id === cell,
    );
    expect(shown.content.data).toEqual({ "text/html": "<i>working</i>" });
    expect(kernel.client.iopubOf(cell).some((m) => m.header.msg_type === "execute_result")).toBe(
      false,
    );
    await kernel.client.send("stdin", "input_reply", { value: "ok" }, asked.header);
    expect((await kernel.client.reply(cell)).content.status).toBe("ok");
    await kernel.client.idle(cell);
  });

  it("updates a named display with update_display_data, and carries metadata", async () => {
    const { iopub } = await kernel.client.execute(`
      display("step 1", { display_id: "progress", metadata: { note: "first" } });
      display({ "text/plain": "step 2", "text/html": "<i>step 2</i>" }, { raw: true, display_id: "progress", update: true });`);
    const shown = outputs(iopub);
    expect(shown.map((m) => m.header.msg_type)).toEqual(["display_data", "update_display_data"]);
    expect(shown[0]?.content).toEqual({
      data: { "text/plain": "'step 1'" },
      metadata: { note: "first" },
      transient: { display_id: "progress" },
    });
    expect(shown[1]?.content).toMatchObject({
      data: { "text/plain": "step 2", "text/html": "<i>step 2</i>" },
      transient: { display_id: "progress" },
    });
  });

  it("clears the cell's output with display.clear(wait)", async () => {
    const { iopub } = await kernel.client.execute(
      'console.log("old"); display.clear(true); console.log("new"); display.clear()',
    );
    const shown = outputs(iopub);
    expect(shown.map((m) => [m.header.msg_type, m.content.wait ?? m.content.text])).toEqual([
      ["stream", "old\n"],
      ["clear_output", true],
      ["stream", "new\n"],
      ["clear_output", false],
    ]);
  });

  it("counts displays against the cell's output limit: over it, one marker and nothing more", async () => {
    const { reply, iopub } = await kernel.client.execute(`
      display({ "text/html": "<p>" + "x".repeat(9 * 1024 * 1024) + "</p>" }, { raw: true });
      display("dropped too");
      console.log("and this");
      "still a result"`);
    expect(reply.content.status).toBe("ok");
    const shown = outputs(iopub);
    expect(shown.map((m) => m.header.msg_type)).toEqual(["display_data", "execute_result"]);
    expect(shown[0]?.content.data).toEqual({
      "text/plain": expect.stringContaining("truncated"),
    });
  });

  it("fails the cell with a TypeError for display options that make no sense", async () => {
    const update = await kernel.client.execute('display("x", { update: true })');
    expect(update.reply.content).toMatchObject({ status: "error", ename: "TypeError" });
    expect(update.reply.content.evalue).toContain("needs the display_id");
    const raw = await kernel.client.execute("display(42, { raw: true })");
    expect(raw.reply.content).toMatchObject({ status: "error", ename: "TypeError" });
    // The session goes on: a bad display is the cell's error, not the worker's.
    const after = await kernel.client.execute("1 + 1");
    expect(after.reply.content.status).toBe("ok");
  });

  it("renders a result without running its getters or proxy traps", async () => {
    await kernel.client.execute("globalThis.touched = 0");
    const cells = [
      "({ plain: 1, get costly() { touched++; return 2 } })",
      "[1, 2, 3].map((n) => n)",
      // No `get` trap: whether a cell's value is a promise is read as `await` reads it
      // (its `then`), which is the cell's own semantics, not rendering.
      "new Proxy({ a: 1 }, { ownKeys() { touched++; return [] }, getOwnPropertyDescriptor() { touched++ }, getPrototypeOf() { touched++; return null } })",
      "Object.defineProperty([1], 0, { get() { touched++; return 1 }, enumerable: true })",
      "const withProto = Object.create({ get [Symbol.for('Jupyter.display')]() { touched++; return () => ({}) } }); withProto",
    ];
    for (const code of cells) {
      const { reply, iopub } = await kernel.client.execute(code);
      expect(reply.content.status, code).toBe("ok");
      expect(
        iopub.some((m) => m.header.msg_type === "execute_result"),
        code,
      ).toBe(true);
    }
    const { iopub } = await kernel.client.execute("touched");
    expect(iopub.find((m) => m.header.msg_type === "execute_result")?.content.data).toEqual({
      "text/plain": "0",
    });
  });
});
