// What survives what: a kernel killed with kill -9 and started again for the same
// notebook has its namespace back; a restart the user asks for starts clean (unless
// CAPSULE_KERNEL_RESTART=keep); a plain shutdown keeps the notebook's state for later.
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, LAUNCHER, start, tempDir } from "../cli/cli-process.ts";
import { JupyterClient, type JupyterMessage, writeConnectionFile } from "./jupyter-client.ts";
import { type RunningKernel, startKernel } from "./kernel-process.ts";

const resultOf = (iopub: JupyterMessage[]) =>
  iopub.find((m) => m.header.msg_type === "execute_result")?.content.data;

const running: RunningKernel[] = [];
async function kernelFor(dir: string, env: NodeJS.ProcessEnv = {}): Promise<RunningKernel> {
  const kernel = await startKernel({ dir, env });
  running.push(kernel);
  return kernel;
}

afterEach(async () => {
  for (const kernel of running.splice(0)) kernel.client.close();
  await cleanup();
});

describe("a durable kernel", () => {
  it("has the namespace back after kill -9, with the execution count and history", async () => {
    const dir = tempDir("capsule-kernel-crash-");
    const first = await kernelFor(dir);
    await first.client.execute(
      "const prices = new Map([['tea', 3]]); function total(n: number) { return prices.get('tea')! * n }",
    );
    const second = await first.client.execute("total(2)");
    expect(resultOf(second.iopub)).toEqual({ "text/plain": "6" });
    const count = second.reply.content.execution_count as number;
    first.cli.child.kill("SIGKILL");
    expect((await first.cli.exited).signal).toBe("SIGKILL");

    const again = await kernelFor(dir);
    // Completion in the new process, before any cell: the namespace is restored for it.
    const names = await again.client.request("shell", "complete_request", {
      code: "pri",
      cursor_pos: 3,
    });
    expect(names.content.matches).toEqual(["prices"]);
    const after = await again.client.execute(
      "prices.set('coffee', 4); total(5) + prices.get('coffee')",
    );
    expect(resultOf(after.iopub)).toEqual({ "text/plain": "19" });
    expect(after.reply.content.execution_count).toBe(count + 1);
    const history = await again.client.request("shell", "history_request", {
      hist_access_type: "tail",
      n: 3,
      output: false,
      raw: true,
    });
    expect((history.content.history as unknown[][]).map((entry) => entry[2])).toEqual([
      expect.stringContaining("const prices"),
      "total(2)",
      "prices.set('coffee', 4); total(5) + prices.get('coffee')",
    ]);
  });

  it("keeps the namespace over a plain shutdown, and starts clean after a user restart", async () => {
    const dir = tempDir("capsule-kernel-restart-");
    const first = await kernelFor(dir);
    await first.client.execute("const saved = 'still here'");
    const shutdown = await first.client.request("control", "shutdown_request", { restart: false });
    expect(shutdown.content).toEqual({ status: "ok", restart: false });
    expect((await first.cli.exited).code).toBe(0);

    const reopened = await kernelFor(dir);
    expect(resultOf((await reopened.client.execute("saved")).iopub)).toEqual({
      "text/plain": "'still here'",
    });
    const restart = await reopened.client.request("control", "shutdown_request", { restart: true });
    expect(restart.content).toEqual({ status: "ok", restart: true });
    expect((await reopened.cli.exited).code).toBe(0);

    const restarted = await kernelFor(dir);
    const clean = await restarted.client.execute("typeof saved");
    expect(resultOf(clean.iopub)).toEqual({ "text/plain": "'undefined'" });
    expect(clean.reply.content.execution_count).toBe(1);
    // The clean generation is what a crash comes back to, not the state before the restart.
    await restarted.client.execute("const fresh = 1");
    restarted.cli.child.kill("SIGKILL");
    await restarted.cli.exited;
    const recovered = await kernelFor(dir);
    expect(resultOf((await recovered.client.execute("[typeof saved, fresh]")).iopub)).toEqual({
      "text/plain": "[ 'undefined', 1 ]",
    });
  });

  it("keeps the namespace over a user restart with CAPSULE_KERNEL_RESTART=keep", async () => {
    const dir = tempDir("capsule-kernel-keep-");
    const env = { CAPSULE_KERNEL_RESTART: "keep" };
    const first = await kernelFor(dir, env);
    await first.client.execute("const kept = 7");
    await first.client.request("control", "shutdown_request", { restart: true });
    await first.cli.exited;
    const restarted = await kernelFor(dir, env);
    expect(resultOf((await restarted.client.execute("kept * 6")).iopub)).toEqual({
      "text/plain": "42",
    });
  });

  it("gives two notebooks in one folder their own namespaces, side by side", async () => {
    const dir = tempDir("capsule-kernel-two-");
    const one = await startKernel({ dir, env: { JPY_SESSION_NAME: `${dir}/one.ipynb` } });
    const two = await startKernel({ dir, env: { JPY_SESSION_NAME: `${dir}/two.ipynb` } });
    running.push(one, two);
    await one.client.execute("const owner = 'one'");
    expect(resultOf((await two.client.execute("typeof owner")).iopub)).toEqual({
      "text/plain": "'undefined'",
    });
    expect(resultOf((await one.client.execute("owner")).iopub)).toEqual({ "text/plain": "'one'" });
  });
});

describe("a kernel whose frontend dies", () => {
  it("stops by itself (JPY_PARENT_PID), releasing its store, instead of living on as an orphan", async () => {
    const dir = tempDir("capsule-kernel-orphan-");
    const connection = writeConnectionFile(tempDir("capsule-kcf-"));
    // The shell stands in for the frontend process; the kernel is its child, not ours.
    const frontend = start(
      ["-c", `${LAUNCHER} kernel -f ${connection.file} --dir ${dir}/store & wait`],
      { command: "sh", env: { JPY_PARENT_PID: "set", JPY_SESSION_NAME: `${dir}/orphan.ipynb` } },
    );
    const client = new JupyterClient(connection);
    try {
      await client.ready();
      await client.execute("const beforeTheFrontendDied = 1");
      frontend.child.kill("SIGKILL");
      // The kernel holds the shell's stderr pipe: it closes when the kernel exits.
      const end = await frontend.exited;
      expect(end.stderr).toContain("the frontend process is gone; stopping");
    } finally {
      client.close();
    }
    // Its store is free again, and the notebook's namespace is in it.
    const again = await kernelFor(dir, { JPY_SESSION_NAME: `${dir}/orphan.ipynb` });
    expect(resultOf((await again.client.execute("beforeTheFrontendDied")).iopub)).toEqual({
      "text/plain": "1",
    });
  });
});
