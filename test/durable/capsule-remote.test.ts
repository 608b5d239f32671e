// Remote mode wiring. No Resonate server is available here, so a minimal HTTP endpoint
// stands in for one: it records the requests the SDK's HTTP network sends and answers
// the one read the test makes. This checks Capsule's wiring (URL, env, token, group,
// pid, the poll address), not a server's behaviour.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Capsule } from "../../durable/index.ts";

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: Record<string, unknown> | undefined;
}

let server: http.Server;
let url: string;
let seen: Seen[];
const polls = new Set<http.ServerResponse>();

beforeEach(async () => {
  seen = [];
  server = http.createServer((req, res) => {
    let text = "";
    req.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    req.on("end", () => {
      const body = text === "" ? undefined : (JSON.parse(text) as Record<string, unknown>);
      seen.push({
        method: req.method ?? "",
        url: req.url ?? "",
        authorization: req.headers.authorization,
        body,
      });
      if (req.method === "GET") {
        // The message stream: held open until the test ends.
        res.writeHead(200, { "content-type": "text/event-stream" });
        polls.add(res);
        return;
      }
      const head = body?.head as { corrId: string; version: string };
      const answer =
        body?.kind === "promise.search"
          ? { kind: "promise.search", head: { ...head, status: 200 }, data: { promises: [] } }
          : { kind: body?.kind, head: { ...head, status: 501 }, data: "not in this stand-in" };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  for (const res of polls) res.end();
  polls.clear();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  delete process.env.RESONATE_URL;
});

describe("Capsule remote mode", () => {
  it("talks to the server at `url` with the token, and polls as group/pid", async () => {
    const capsule = await Capsule.open({ url, token: "secret", group: "workers", pid: "p1" });
    try {
      expect(capsule.mode).toBe("remote");
      expect(capsule.location).toBe(url);
      expect(capsule.pid).toBe("p1");
      expect(await capsule.list()).toEqual({ executions: [], sessions: [] });
      const search = seen.find((s) => s.body?.kind === "promise.search");
      expect(search).toMatchObject({ method: "POST", authorization: "Bearer secret" });
      expect(search?.body?.data).toMatchObject({ tags: { "capsule:kind": "execution" } });
      expect(seen.some((s) => s.method === "GET" && s.url === "/poll/workers/p1")).toBe(true);
    } finally {
      await capsule.close();
    }
  });

  it("uses RESONATE_URL (trailing slash trimmed) when no url is given", async () => {
    process.env.RESONATE_URL = `${url}/`;
    const remote = await Capsule.open({ pid: "p2" });
    try {
      expect(remote.mode).toBe("remote");
      expect(remote.location).toBe(url);
    } finally {
      await remote.close();
    }
  });
});
