// Over `capsule serve`, a durable question is a plain durable promise: a Resonate SDK
// client that is not Capsule answers it by its id, with the SDK's own encoding.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Resonate } from "@resonatehq/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { Capsule, INPUT_KIND } from "../../durable/index.ts";
import { type RunningServer, serve } from "../../durable/serve/http-server.ts";

let root: string | undefined;
let server: RunningServer | undefined;
let capsule: Capsule | undefined;
let client: Resonate | undefined;

afterEach(async () => {
  await client?.stop();
  await capsule?.close();
  await server?.close();
  if (root !== undefined) fs.rmSync(root, { recursive: true, force: true });
  client = capsule = server = root = undefined;
});

describe("durable input over capsule serve", () => {
  it("is answered by a plain Resonate SDK client resolving the promise", async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-input-serve-"));
    server = await serve({ dir: path.join(root, "store"), port: 0 });
    capsule = await Capsule.open({ url: server.url, pool: { minIdle: 0 } });
    const job = capsule.register("approve", async (ctx) => {
      const result = await ctx.session("main").execute('"answer: " + await input("ok?")');
      return result.value;
    });
    const handle = await job.run("approve-1");
    let question = (await capsule.inputs())[0];
    while (question === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      question = (await capsule.inputs())[0];
    }

    client = new Resonate({ url: server.url, group: "someone-else" });
    const asked = await client.promises.get(question.id);
    expect(asked.state).toBe("pending");
    expect(asked.tags).toMatchObject({
      "capsule:kind": INPUT_KIND,
      "capsule:session": "main",
      "capsule:execution": "approve-1",
    });
    const data = Buffer.from(JSON.stringify("granted")).toString("base64");
    await client.promises.resolve(question.id, { data });
    expect(await handle.result()).toBe("answer: granted");
  });
});
