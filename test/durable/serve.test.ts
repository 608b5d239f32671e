// `capsule serve`: the store behind the Resonate HTTP protocol, and Capsule in remote
// mode against it — the same durable code, with processes sharing one store over HTTP.
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Capsule } from "../../durable/index.ts";
import { type RunningServer, serve } from "../../durable/serve/http-server.ts";

const LAUNCHER = fileURLToPath(new URL("../../src/cli/capsule", import.meta.url));

let root: string;
let server: RunningServer | undefined;
const capsules: Capsule[] = [];

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-serve-"));
});

afterEach(async () => {
  await Promise.all(capsules.splice(0).map((capsule) => capsule.close()));
  await server?.close();
  server = undefined;
  fs.rmSync(root, { recursive: true, force: true });
});

async function remote(url: string): Promise<Capsule> {
  const capsule = await Capsule.open({ url, pool: { minIdle: 0 } });
  capsules.push(capsule);
  return capsule;
}

function post(url: string, body: string, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: "POST",
    body,
    headers: { "content-type": "application/json", ...headers },
  });
}

describe("capsule serve", () => {
  it("runs a durable function for a remote-mode Capsule and lists it", async () => {
    server = await serve({ dir: path.join(root, "store"), port: 0 });
    const capsule = await remote(server.url);
    expect(capsule.mode).toBe("remote");
    const sum = capsule.register("sum", async (ctx, xs: number[]) => {
      const s = ctx.session("main");
      await s.execute(`const xs = ${JSON.stringify(xs)}`);
      const r = await s.execute("xs.reduce((a, b) => a + b, 0)");
      await ctx.sleep(10);
      return r.value;
    });
    const handle = await sum.run("sum-1", [1, 2, 3, 4]);
    expect(await handle.result()).toBe(10);
    const listing = await capsule.list();
    expect(listing.executions.map((e) => [e.id, e.state])).toEqual([["sum-1", "resolved"]]);
  });

  it("shares named sessions between processes through the server", async () => {
    server = await serve({ dir: path.join(root, "store"), port: 0 });
    const first = await remote(server.url);
    await first.session("demo").execute("let x = 41");
    await first.close();
    capsules.splice(capsules.indexOf(first), 1);
    const second = await remote(server.url);
    expect((await second.session("demo").execute("x + 1")).value).toBe(42);
  });

  it("answers bad requests with a clear error and loses nothing", async () => {
    server = await serve({ dir: path.join(root, "store"), port: 0 });
    const garbage = await post(server.url, "{not json");
    expect(garbage.status).toBe(400);
    // Errors come in the protocol's envelope, as a Resonate server sends them.
    expect(((await garbage.json()) as { data: string }).data).toMatch(/not JSON/);
    const foreign = await post(server.url, JSON.stringify({ kind: "nonsense" }));
    expect(foreign.status).toBe(400);
    expect(((await foreign.json()) as { data: string }).data).toMatch(
      /not a Resonate protocol request/,
    );
    const elsewhere = await fetch(`${server.url}/nowhere`);
    expect(elsewhere.status).toBe(400);
    // The store still serves real work afterwards.
    const capsule = await remote(server.url);
    expect((await capsule.session("after").execute("2 * 21")).value).toBe(42);
  });

  it("requires the bearer token when given one", async () => {
    server = await serve({ dir: path.join(root, "store"), port: 0, token: "s3cret" });
    expect((await post(server.url, "{}")).status).toBe(401);
    expect((await post(server.url, "{}", { authorization: "Bearer wrong" })).status).toBe(401);
    const allowed = await post(server.url, "{}", { authorization: "Bearer s3cret" });
    expect(allowed.status).toBe(400); // past the token check: "{}" is no request
  });

  it("runs from the CLI until SIGTERM, then gives the store back", async () => {
    const dir = path.join(root, "cli");
    const child = spawn(LAUNCHER, ["serve", "--dir", dir, "--port", "0"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const [line] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
      const url = /at (http:\/\/\S+)$/.exec(line)?.[1];
      expect(url).toBeDefined();
      const capsule = await remote(url!);
      expect((await capsule.session("cli").execute("'served'")).value).toBe("served");
      await capsule.close();
      capsules.splice(capsules.indexOf(capsule), 1);
      child.kill("SIGTERM");
      const [code] = (await once(child, "exit")) as [number | null];
      expect(code).toBe(0);
      // The lock is released: the same store opens locally, with the cell recorded.
      const local = await Capsule.open({ dir, pool: { minIdle: 0 } });
      capsules.push(local);
      expect((await local.session("cli").execute("1 + 1")).value).toBe(2);
      expect((await local.list()).sessions.map((s) => s.name)).toEqual(["cli"]);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
