// `capsule serve` answers as a Resonate server does where an SDK user can tell: probes,
// the protocol status as the HTTP status, version and debug gating, and the searches
// the SDK's local server leaves unimplemented.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type RunningServer, serve } from "../../durable/serve/http-server.ts";

let root: string;
let server: RunningServer | undefined;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-serve-parity-"));
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  fs.rmSync(root, { recursive: true, force: true });
});

const HOUR = 3_600_000;
let corr = 0;

async function call(kind: string, data: Record<string, unknown>, version = "2026-04-01") {
  if (server === undefined) throw new Error("no server");
  const response = await fetch(server.url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ kind, head: { corrId: `c${++corr}`, version }, data }),
  });
  const body = (await response.json()) as {
    kind: string;
    head: { status: number; corrId: string };
    data: unknown;
  };
  return { http: response.status, body };
}

describe("capsule serve, as a Resonate server", () => {
  it("answers /health and /ready without a token", async () => {
    server = await serve({ dir: path.join(root, "store"), port: 0, token: "secret" });
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    // Everything else still needs the token.
    expect((await fetch(server.url, { method: "POST", body: "{}" })).status).toBe(401);
  });

  it("sends the protocol status as the HTTP status, with the request's corrId", async () => {
    server = await serve({ dir: path.join(root, "store"), port: 0 });
    const missing = await call("promise.get", { id: "nope" });
    expect(missing.http).toBe(404);
    expect(missing.body.head).toMatchObject({ status: 404, corrId: `c${corr}` });
    const created = await call("promise.create", {
      id: "p",
      timeoutAt: Date.now() + HOUR,
      param: {},
      tags: {},
    });
    expect(created.http).toBe(200);
    const settled = await call("promise.settle", { id: "p", state: "resolved", value: {} });
    expect(settled.http).toBe(200);
    const again = await call("task.acquire", { id: "p", version: 1, pid: "x", ttl: 1000 });
    expect(again.http).toBe(again.body.head.status);
  });

  it("rejects an unsupported protocol version with 400 and changes nothing", async () => {
    server = await serve({ dir: path.join(root, "store"), port: 0 });
    const old = await call(
      "promise.create",
      { id: "v", timeoutAt: Date.now() + HOUR, param: {}, tags: {} },
      "2023-01-01",
    );
    expect(old.http).toBe(400);
    expect(String(old.body.data)).toContain("2026-04-01");
    expect((await call("promise.get", { id: "v" })).http).toBe(404);
  });

  it("refuses debug requests with 403 unless started with debug, so no client can wipe the store", async () => {
    server = await serve({ dir: path.join(root, "store"), port: 0 });
    await call("promise.create", { id: "keep", timeoutAt: Date.now() + HOUR, param: {}, tags: {} });
    for (const kind of ["debug.reset", "debug.tick", "debug.snap", "debug.start", "debug.stop"]) {
      const refused = await call(
        kind,
        kind === "debug.tick" ? { time: Date.now() + 10 * HOUR } : {},
      );
      expect(refused.http, kind).toBe(403);
    }
    expect((await call("promise.get", { id: "keep" })).body.data).toMatchObject({
      promise: { state: "pending" },
    });
    await server.close();
    server = await serve({ dir: path.join(root, "store"), port: 0, debug: true });
    expect((await call("debug.snap", {})).http).toBe(200);
  });

  it("implements task.search and schedule.search with filters and paging", async () => {
    server = await serve({ dir: path.join(root, "store"), port: 0 });
    const target = { "resonate:target": "poll://any@default/w" };
    for (const id of ["t1", "t2", "t3"]) {
      const made = await call("task.create", {
        pid: "w",
        ttl: 60_000,
        action: {
          kind: "promise.create",
          head: { corrId: id, version: "2026-04-01" },
          data: { id, timeoutAt: Date.now() + HOUR, param: {}, tags: target },
        },
      });
      expect(made.http).toBe(200);
    }
    const acquired = await call("task.search", { state: "acquired", limit: 2 });
    expect(acquired.http).toBe(200);
    const first = acquired.body.data as { tasks: { id: string; state: string }[]; cursor?: string };
    expect(first.tasks.map((t) => t.id)).toEqual(["t1", "t2"]);
    const rest = (await call("task.search", { state: "acquired", cursor: first.cursor })).body
      .data as { tasks: { id: string }[]; cursor?: string };
    expect(rest.tasks.map((t) => t.id)).toEqual(["t3"]);
    expect(rest.cursor).toBeUndefined();
    expect(
      ((await call("task.search", { state: "halted" })).body.data as { tasks: unknown[] }).tasks,
    ).toEqual([]);
    expect((await call("task.search", { limit: 5000 })).http).toBe(400);

    for (const [id, team] of [
      ["s1", "a"],
      ["s2", "b"],
    ] as const) {
      const made = await call("schedule.create", {
        id,
        cron: "0 * * * *",
        promiseId: `${id}-{{.timestamp}}`,
        promiseTimeout: HOUR,
        promiseParam: {},
        promiseTags: { team, ...target },
      });
      expect(made.http).toBe(200);
    }
    const teamB = (await call("schedule.search", { tags: { team: "b" } })).body.data as {
      schedules: { id: string; nextRunAt: number }[];
    };
    expect(teamB.schedules.map((s) => s.id)).toEqual(["s2"]);
    expect(teamB.schedules[0]?.nextRunAt).toBeGreaterThan(Date.now());
  });

  it("keeps the leases of its clients across its own restart", async () => {
    const dir = path.join(root, "store");
    server = await serve({ dir, port: 0 });
    const target = { "resonate:target": "poll://any@default/w" };
    const made = await call("task.create", {
      pid: "w",
      ttl: 10 * 60_000,
      action: {
        kind: "promise.create",
        head: { corrId: "held", version: "2026-04-01" },
        data: { id: "held", timeoutAt: Date.now() + HOUR, param: {}, tags: target },
      },
    });
    expect(made.http).toBe(200);
    await server.close();
    server = await serve({ dir, port: 0 });
    // The worker holding it may well be alive: taking its task would run it twice.
    const task = await call("task.get", { id: "held" });
    expect(task.body.data).toMatchObject({ task: { state: "acquired", pid: "w", version: 1 } });
    const heartbeat = await call("task.heartbeat", {
      pid: "w",
      tasks: [{ id: "held", version: 1 }],
    });
    expect(heartbeat.http).toBe(200);
  });
});
