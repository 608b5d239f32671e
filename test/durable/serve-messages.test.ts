// `capsule serve` keeps the messages it sends (unblock, execute) in its store until a
// poller's connection took them: a real `capsule serve` process is killed with -9 after
// the commit of the change that produced a message and before anyone could take it;
// the next serve on the same store delivers it to the poller that connects for its
// address, once, and not a message that a claim made moot.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const CLI = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "src",
  "cli",
  "main.ts",
);
const HOUR = 3_600_000;

interface Serve {
  url: string;
  child: ChildProcess;
  exited: Promise<unknown>;
}

interface Event {
  kind: string;
  data: { promise?: { id: string; state: string }; task?: { id: string; version: number } };
}

let root: string;
const serves = new Set<Serve>();
const streams = new Set<http.ClientRequest>();

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-serve-messages-"));
});

afterEach(async () => {
  for (const stream of streams) stream.destroy();
  streams.clear();
  for (const serve of serves) await killServe(serve);
  fs.rmSync(root, { recursive: true, force: true });
});

/** `capsule serve` as a process of its own, on a free port, over the store in `root`. */
async function startServe(): Promise<Serve> {
  const child = spawn(process.execPath, [CLI, "serve", "--dir", root, "--port", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const listening = / at (http:\/\/\S+)\n/.exec(out);
      if (listening?.[1] !== undefined) resolve(listening[1]);
    });
    void exited.then(() => reject(new Error(`capsule serve exited:\n${stderr}`)));
  });
  const serve = { url, child, exited };
  serves.add(serve);
  return serve;
}

async function killServe(serve: Serve): Promise<void> {
  serve.child.kill("SIGKILL");
  await serve.exited;
  serves.delete(serve);
}

let corr = 0;

async function call(serve: Serve, kind: string, data: Record<string, unknown>) {
  const response = await fetch(serve.url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ kind, head: { corrId: `m${++corr}`, version: "2026-04-01" }, data }),
  });
  const body = (await response.json()) as { head: { status: number }; data: unknown };
  expect(body.head.status, JSON.stringify(body)).toBe(200);
  return body.data;
}

/** A poller of `/poll/{group}/{pid}`, as the SDK's HTTP network opens it; `next()` is its next message. */
async function poll(serve: Serve, group: string, pid: string): Promise<() => Promise<Event>> {
  const events: Event[] = [];
  const waiters: ((event: Event) => void)[] = [];
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const request = http.get(`${serve.url}/poll/${group}/${pid}`, resolve);
    request.on("error", reject);
    streams.add(request);
  });
  let buffer = "";
  response.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (!frame.startsWith("data: ")) continue;
      const event = JSON.parse(frame.slice(6)) as Event;
      const waiter = waiters.shift();
      if (waiter !== undefined) waiter(event);
      else events.push(event);
    }
  });
  response.on("error", () => {});
  return () => {
    const event = events.shift();
    return event !== undefined
      ? Promise.resolve(event)
      : new Promise((resolve) => waiters.push(resolve));
  };
}

/** A promise with a listener at `address`, settled: the server sends `unblock` to it. */
async function unblockFor(serve: Serve, id: string, address: string): Promise<void> {
  await call(serve, "promise.create", {
    id,
    timeoutAt: Date.now() + HOUR,
    param: {},
    tags: { "resonate:scope": "global" },
  });
  await call(serve, "promise.register_listener", { awaited: id, address });
  await call(serve, "promise.settle", { id, state: "resolved", value: {} });
}

/** A promise with a target: the server creates its task and sends `execute` to the target. */
async function invoke(serve: Serve, id: string, target: string): Promise<void> {
  await call(serve, "promise.create", {
    id,
    timeoutAt: Date.now() + HOUR,
    param: {},
    tags: { "resonate:target": target, "resonate:scope": "global" },
  });
}

describe("capsule serve keeps its messages across a kill -9", () => {
  it("an unblock committed while its poller was away reaches it after a restart, once", async () => {
    const first = await startServe();
    await unblockFor(first, "p1", "poll://uni@clients/orch-1");
    // Answered, so committed; nobody polls for orch-1: the message is only in the store.
    await killServe(first);

    const second = await startServe();
    const next = await poll(second, "clients", "orch-1");
    expect(await next()).toMatchObject({
      kind: "unblock",
      data: { promise: { id: "p1", state: "resolved" } },
    });
    // A live poller gets its message at once; one that never connected, after a restart.
    await unblockFor(second, "p2", "poll://uni@clients/orch-1");
    expect((await next()).data.promise?.id).toBe("p2");
    await unblockFor(second, "p3", "poll://uni@clients/orch-3");
    await killServe(second);

    const third = await startServe();
    const orch3 = await poll(third, "clients", "orch-3");
    expect((await orch3()).data.promise?.id).toBe("p3");
    // p1 and p2 were delivered, so deleted: orch-1's first message now is a new one.
    const orch1 = await poll(third, "clients", "orch-1");
    await unblockFor(third, "p4", "poll://uni@clients/orch-1");
    expect((await orch1()).data.promise?.id).toBe("p4");
  });

  it("an execute for a group with no poller goes to the first one that joins after a restart", async () => {
    const first = await startServe();
    await invoke(first, "job-1", "poll://any@workers");
    await killServe(first);

    const second = await startServe();
    const next = await poll(second, "workers", "worker-a");
    expect(await next()).toMatchObject({
      kind: "execute",
      data: { task: { id: "job-1", version: 0 } },
    });
  });

  it("an execute made moot by a claim is not delivered after a restart", async () => {
    const first = await startServe();
    await invoke(first, "claimed", "poll://any@workers");
    await call(first, "task.acquire", { id: "claimed", version: 0, pid: "elsewhere", ttl: HOUR });
    await invoke(first, "open", "poll://any@workers");
    await killServe(first);

    const second = await startServe();
    const next = await poll(second, "workers", "worker-a");
    // Messages go in the order they were committed: `claimed`'s would come first.
    expect((await next()).data.task?.id).toBe("open");
  });
});
