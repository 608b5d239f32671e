// The kernel as Jupyter frontends drive it: a real `capsule kernel` process, a client
// over real ZeroMQ sockets, every request kind of the messaging protocol.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanup } from "../cli/cli-process.ts";
import type { JupyterMessage } from "./jupyter-client.ts";
import { type RunningKernel, startKernel, waitForLog } from "./kernel-process.ts";

const types = (messages: JupyterMessage[]) => messages.map((m) => m.header.msg_type);

describe("capsule kernel", () => {
  let kernel: RunningKernel;

  beforeAll(async () => {
    kernel = await startKernel();
  });
  afterAll(async () => {
    kernel?.client.close();
    await cleanup();
  });

  it("answers kernel_info with the protocol version and TypeScript language info", async () => {
    const reply = await kernel.client.request("shell", "kernel_info_request");
    expect(reply.header.msg_type).toBe("kernel_info_reply");
    expect(reply.content).toMatchObject({
      status: "ok",
      protocol_version: "5.3",
      implementation: "capsule",
      language_info: { name: "typescript", file_extension: ".ts" },
    });
    const control = await kernel.client.request("control", "kernel_info_request");
    expect(control.content.protocol_version).toBe("5.3");
  });

  it("echoes heartbeats", async () => {
    expect(await kernel.client.ping("are you there")).toBe("are you there");
  });

  it("executes a cell: execute_input, stream, execute_result between busy and idle", async () => {
    const { reply, iopub } = await kernel.client.execute(
      'console.log("hello"); const x: number = 40; x + 2',
    );
    expect(reply.content).toMatchObject({ status: "ok" });
    const count = reply.content.execution_count as number;
    expect(types(iopub)).toEqual(["status", "execute_input", "stream", "execute_result", "status"]);
    expect(iopub[0]?.content.execution_state).toBe("busy");
    expect(iopub[1]?.content).toMatchObject({ execution_count: count });
    expect(iopub[2]?.content).toEqual({ name: "stdout", text: "hello\n" });
    expect(iopub[3]?.content).toMatchObject({
      execution_count: count,
      data: { "text/plain": "42" },
    });
    expect(iopub[4]?.content.execution_state).toBe("idle");
    // The namespace persists between cells, and counts go up by one.
    const next = await kernel.client.execute("x * 2");
    expect(next.reply.content.execution_count).toBe(count + 1);
    expect(next.iopub.find((m) => m.header.msg_type === "execute_result")?.content.data).toEqual({
      "text/plain": "80",
    });
  });

  it("reports a user error with its name, message and traceback, and aborts queued cells", async () => {
    const failing = await kernel.client.send("shell", "execute_request", {
      code: "function boom() { throw new RangeError('too far') }\nboom()",
      stop_on_error: true,
    });
    const queued = await kernel.client.send("shell", "execute_request", {
      code: "globalThis.ranAfter = true",
    });
    const reply = await kernel.client.reply(failing);
    expect(reply.content).toMatchObject({
      status: "error",
      ename: "RangeError",
      evalue: "too far",
    });
    await kernel.client.idle(failing);
    const error = kernel.client.iopubOf(failing).find((m) => m.header.msg_type === "error");
    expect(error?.content.traceback).toEqual(
      expect.arrayContaining([expect.stringContaining("boom")]),
    );
    expect((await kernel.client.reply(queued)).content.status).toBe("aborted");
    const check = await kernel.client.execute("typeof ranAfter");
    expect(check.iopub.find((m) => m.header.msg_type === "execute_result")?.content.data).toEqual({
      "text/plain": "'undefined'",
    });
  });

  it("sends stderr and display() output as they come", async () => {
    const { iopub } = await kernel.client.execute('console.error("careful"); display({ a: 1 })');
    expect(iopub.find((m) => m.header.msg_type === "stream")?.content).toEqual({
      name: "stderr",
      text: "careful\n",
    });
    expect(iopub.find((m) => m.header.msg_type === "display_data")?.content).toMatchObject({
      data: { "text/plain": "{ a: 1 }" },
    });
  });

  it("completes names and properties from the live namespace at the cursor", async () => {
    await kernel.client.execute(
      "const inventory = { apples: 3, apricots: 5, bananas: 7 }; let apex = 1",
    );
    const code = "inventory.ap + 1";
    const reply = await kernel.client.request("shell", "complete_request", {
      code,
      cursor_pos: 12,
    });
    expect(reply.content).toMatchObject({ status: "ok", cursor_start: 10, cursor_end: 12 });
    expect(reply.content.matches).toEqual(["apples", "apricots"]);
    const top = await kernel.client.request("shell", "complete_request", {
      code: "ap",
      cursor_pos: 2,
    });
    expect(top.content.matches).toEqual(expect.arrayContaining(["apex"]));
    expect(top.content.cursor_start).toBe(0);
  });

  it("never runs a getter or a proxy trap to complete or inspect", async () => {
    await kernel.client.execute(
      "globalThis.getterCalls = 0; const lazy = { get costly() { getterCalls++; return { deep: 1 } }, plain: 2 }",
    );
    const reply = await kernel.client.request("shell", "complete_request", {
      code: "lazy.",
      cursor_pos: 5,
    });
    expect(reply.content.matches).toEqual(expect.arrayContaining(["costly", "plain"]));
    await kernel.client.request("shell", "complete_request", {
      code: "lazy.costly.",
      cursor_pos: 12,
    });
    await kernel.client.execute(
      "const trapped = new Proxy({}, { ownKeys() { getterCalls++; return [] }, getOwnPropertyDescriptor() { getterCalls++ }, getPrototypeOf() { getterCalls++; return null } })",
    );
    const behindProxy = await kernel.client.request("shell", "complete_request", {
      code: "trapped.",
      cursor_pos: 8,
    });
    expect(behindProxy.content.matches).toEqual([]);
    await kernel.client.request("shell", "inspect_request", { code: "trapped", cursor_pos: 3 });
    await kernel.client.request("shell", "inspect_request", {
      code: "lazy",
      cursor_pos: 2,
      detail_level: 0,
    });
    const calls = await kernel.client.execute("getterCalls");
    expect(calls.iopub.find((m) => m.header.msg_type === "execute_result")?.content.data).toEqual({
      "text/plain": "0",
    });
  });

  it("inspects the name at the cursor", async () => {
    await kernel.client.execute("function greet(name: string) { return 'hi ' + name }");
    const reply = await kernel.client.request("shell", "inspect_request", {
      code: "greet('x')",
      cursor_pos: 2,
      detail_level: 0,
    });
    expect(reply.content).toMatchObject({ status: "ok", found: true });
    expect((reply.content.data as Record<string, string>)["text/plain"]).toContain(
      "function greet(name",
    );
    const missing = await kernel.client.request("shell", "inspect_request", {
      code: "nope",
      cursor_pos: 2,
    });
    expect(missing.content).toMatchObject({ status: "ok", found: false });
  });

  it("says whether input is complete, for the console's multi-line input", async () => {
    const check = async (code: string) =>
      (await kernel.client.request("shell", "is_complete_request", { code })).content.status;
    expect(await check("const a = 1")).toBe("complete");
    expect(await check("function f() {")).toBe("incomplete");
    expect(await check("const = = 2")).toBe("invalid");
  });

  it("answers history requests: tail, range and search", async () => {
    await kernel.client.execute("const historyMarker = 'h1'");
    const tail = await kernel.client.request("shell", "history_request", {
      hist_access_type: "tail",
      n: 1,
      output: false,
      raw: true,
    });
    const [entry] = tail.content.history as [number, number, string][];
    expect(entry?.[2]).toBe("const historyMarker = 'h1'");
    const range = await kernel.client.request("shell", "history_request", {
      hist_access_type: "range",
      session: entry?.[0],
      start: entry?.[1],
      stop: (entry?.[1] ?? 0) + 1,
      output: false,
      raw: true,
    });
    expect(range.content.history).toEqual([entry]);
    const search = await kernel.client.request("shell", "history_request", {
      hist_access_type: "search",
      pattern: "*historyMarker*",
      output: false,
      raw: true,
    });
    expect(search.content.history).toEqual([entry]);
  });

  it("answers comm requests politely (no comm targets)", async () => {
    const info = await kernel.client.request("shell", "comm_info_request", {});
    expect(info.content).toEqual({ status: "ok", comms: {} });
    const id = await kernel.client.send("shell", "comm_open", {
      comm_id: "c1",
      target_name: "jupyter.widget",
      data: {},
    });
    await kernel.client.idle(id);
    expect(
      kernel.client.iopubOf(id).find((m) => m.header.msg_type === "comm_close")?.content,
    ).toMatchObject({
      comm_id: "c1",
    });
  });

  it("drops a message with a bad signature, and logs it", async () => {
    const { id, frames } = kernel.client.frames("execute_request", {
      code: "globalThis.forged = 1",
    });
    frames[1] = Buffer.from("0".repeat(64));
    await kernel.client.sendFrames("shell", frames);
    // The next request is answered, the forged one never is.
    await kernel.client.execute("1");
    await waitForLog(kernel.cli, "dropped a message on shell: bad signature");
    expect(kernel.client.received.some((m) => m.parent_header.msg_id === id)).toBe(false);
    const check = await kernel.client.execute("typeof forged");
    expect(check.iopub.find((m) => m.header.msg_type === "execute_result")?.content.data).toEqual({
      "text/plain": "'undefined'",
    });
    expect(kernel.cli.stderr()).toContain("dropped a message on shell: bad signature");
    expect(kernel.client.badlySigned).toEqual([]);
  });

  it("shows a value's Jupyter.display bundle as a rich execute_result", async () => {
    const { reply, iopub } = await kernel.client.execute(`
      class Chart {
        [Symbol.for("Jupyter.display")]() {
          return {
            "text/html": "<b>chart</b>",
            "image/svg+xml": "<svg/>",
            "application/json": { points: 3 },
            "image/png": Buffer.from([137, 80, 78, 71]),
          };
        }
      }
      new Chart()`);
    expect(reply.content.status).toBe("ok");
    const result = iopub.find((m) => m.header.msg_type === "execute_result");
    expect(result?.content.data).toMatchObject({
      "text/plain": "Chart {}",
      "text/html": "<b>chart</b>",
      "image/svg+xml": "<svg/>",
      "application/json": { points: 3 },
      // Bytes travel base64-encoded, as Jupyter expects of images.
      "image/png": Buffer.from([137, 80, 78, 71]).toString("base64"),
    });
    // Reading the bundle left the last result alone.
    const last = await kernel.client.execute("_ instanceof Chart");
    expect(last.iopub.find((m) => m.header.msg_type === "execute_result")?.content.data).toEqual({
      "text/plain": "true",
    });
  });

  it("asks the frontend for input() on stdin, async and sync", async () => {
    const asked = kernel.client.waitFor(
      (m) => m.channel === "stdin" && m.header.msg_type === "input_request",
    );
    const id = await kernel.client.send("shell", "execute_request", {
      code: 'const who = await input("who? "); who.toUpperCase()',
      allow_stdin: true,
    });
    const request = await asked;
    expect(request.content).toEqual({ prompt: "who? ", password: false });
    await kernel.client.send("stdin", "input_reply", { value: "ada" }, request.header);
    expect((await kernel.client.reply(id)).content.status).toBe("ok");
    await kernel.client.idle(id);
    expect(
      kernel.client.iopubOf(id).find((m) => m.header.msg_type === "execute_result")?.content.data,
    ).toEqual({
      "text/plain": "'ADA'",
    });

    const sync = await kernel.client.send("shell", "execute_request", {
      code: 'const age = Number(input("age? ")); age + 1',
      allow_stdin: true,
    });
    // The input_request names the execute_request as its parent.
    const second = await kernel.client.waitFor(
      (m) => m.channel === "stdin" && m.parent_header.msg_id === sync,
    );
    expect(second.content.prompt).toBe("age? ");
    await kernel.client.send("stdin", "input_reply", { value: "36" }, second.header);
    await kernel.client.idle(sync);
    expect(
      kernel.client.iopubOf(sync).find((m) => m.header.msg_type === "execute_result")?.content.data,
    ).toEqual({
      "text/plain": "37",
    });
  });

  it("fails input() with a clear error when the frontend does not allow stdin", async () => {
    const { reply } = await kernel.client.execute('input("x")', { allow_stdin: false });
    expect(reply.content.status).toBe("error");
    expect(reply.content.evalue).toContain("this frontend does not accept input");
  });

  it("interrupts a running cell on control and keeps the namespace", async () => {
    const id = await kernel.client.send("shell", "execute_request", {
      code: 'globalThis.beforeLoop = "kept"; console.log("looping"); while (true) {}',
    });
    await kernel.client.waitFor(
      (m) => m.parent_header.msg_id === id && m.header.msg_type === "stream",
    );
    const interrupt = await kernel.client.request("control", "interrupt_request");
    expect(interrupt.content).toEqual({ status: "ok" });
    const reply = await kernel.client.reply(id);
    expect(reply.content).toMatchObject({ status: "error", ename: "EXECUTION_CANCELLED" });
    const after = await kernel.client.execute("[beforeLoop, x]");
    expect(after.iopub.find((m) => m.header.msg_type === "execute_result")?.content.data).toEqual({
      "text/plain": "[ 'kept', 40 ]",
    });
  });
});
