// The read commands against a server: `capsule ls / show / inputs / answer --url` read
// and answer, from a separate CLI process, what an orchestrator connected to the server
// has in flight (before, they looked for a local store, found none and listed nothing).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Capsule, type PendingInput } from "../../durable/index.ts";
import { type RunningServer, serve } from "../../durable/serve/http-server.ts";
import { cleanup, run } from "./cli-process.ts";

let root: string | undefined;
let server: RunningServer | undefined;
let capsule: Capsule | undefined;

afterEach(async () => {
  await cleanup();
  await capsule?.close();
  await server?.close();
  if (root !== undefined) fs.rmSync(root, { recursive: true, force: true });
  capsule = server = root = undefined;
});

describe("the read commands with --url", () => {
  it("list, show and answer a question of an execution running against the server", async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-cli-remote-"));
    server = await serve({ dir: path.join(root, "store"), port: 0 });
    capsule = await Capsule.open({ url: server.url, pool: { minIdle: 0 } });
    const job = capsule.register("approve", async (ctx) => {
      const result = await ctx.session("main").execute('"answer: " + await input("ok?")');
      return result.value;
    });
    const handle = await job.run("approve-1");
    // The CLI sees the question once it is in the server's store (no event reaches it).
    const url = ["--url", server.url];
    let pending: PendingInput[] = [];
    while (pending.length === 0) {
      const listed = await run(["inputs", "--json", ...url]);
      expect(listed.code, listed.stderr).toBe(0);
      pending = JSON.parse(listed.stdout) as PendingInput[];
    }
    expect(pending).toMatchObject([{ prompt: "ok?", execution: "approve-1", session: "main" }]);

    const ls = await run(["ls", "--json", ...url]);
    expect(ls.code, ls.stderr).toBe(0);
    expect(JSON.parse(ls.stdout)).toMatchObject({
      executions: [{ id: "approve-1", state: "pending" }],
    });

    const answered = await run(["answer", pending[0]?.id ?? "", "granted", ...url]);
    expect(answered.code, answered.stderr).toBe(0);
    expect(await handle.result()).toBe("answer: granted");

    const shown = await run(["show", "approve-1", "--json", ...url]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: "approve-1", state: "resolved" });
  });
});
