// permissions.net: { allow }: the worker has no network of its own; `fetch` in a cell is
// the host's, and reaches only listed hosts. Against real local servers on port 0.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSession } from "../session/helpers.ts";

interface Server {
  url: string;
  port: number;
  requests: string[];
  close(): Promise<void>;
}

async function serve(routes: (url: string, res: http.ServerResponse) => void): Promise<Server> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    routes(req.url ?? "/", res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let allowed: Server;
let outside: Server;

beforeAll(async () => {
  outside = await serve((_url, res) => res.end("outside"));
  allowed = await serve((url, res) => {
    if (url === "/data") {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ ok: true }));
    } else if (url === "/echo") {
      res.end("echo");
    } else if (url === "/in") {
      res.writeHead(302, { location: "/data" }).end();
    } else if (url === "/out") {
      res.writeHead(302, { location: `${outside.url}/stolen` }).end();
    } else res.writeHead(404).end();
  });
});

afterAll(async () => {
  await allowed.close();
  await outside.close();
});

/** A cell expression that says how a fetch ended: status and body, or the error's code. */
function attempt(url: string): string {
  return `await fetch(${JSON.stringify(url)}).then(async (r) => [r.status, await r.text(), r.url], (e) => [e.code, e.message])`;
}

describe("network by allow-list", () => {
  it("fetches from a listed host, refuses another host and a redirect out of the list", async () => {
    const session = await startSession({
      permissions: { net: { allow: [`127.0.0.1:${allowed.port}`] } },
    });
    const data = await session.execute(
      `const r = await fetch(${JSON.stringify(`${allowed.url}/data`)}); [r.status, r.headers.get("content-type"), await r.json()]`,
    );
    expect(data.value).toEqual([200, "application/json", { ok: true }]);

    const redirectedIn = await session.execute(attempt(`${allowed.url}/in`));
    expect(redirectedIn.value).toEqual([200, '{"ok":true}', `${allowed.url}/data`]);

    const other = await session.execute(attempt(`${outside.url}/x`));
    expect(other.value).toEqual([
      "NET_NOT_ALLOWED",
      expect.stringContaining(`127.0.0.1:${outside.port} is not in permissions.net.allow`),
    ]);
    const redirectedOut = await session.execute(attempt(`${allowed.url}/out`));
    expect(redirectedOut.value).toEqual(["NET_NOT_ALLOWED", expect.any(String)]);
    const scheme = await session.execute(attempt("file:///etc/passwd"));
    expect(scheme.value).toEqual([
      "NET_NOT_ALLOWED",
      expect.stringContaining("only http and https"),
    ]);

    // The cell has no network of its own either: a raw socket to the outside server fails.
    const raw = await session.execute(
      `await new Promise((resolve) => {
         try {
           const socket = require("node:net").connect(${outside.port}, "127.0.0.1", () => resolve("connected"));
           socket.on("error", (e) => resolve("refused: " + e.code));
         } catch (e) { resolve("refused: " + e.code) }
       })`,
    );
    expect(raw.value).toMatch(/^refused: /);
    expect(outside.requests).toEqual([]);
    expect(allowed.requests).toEqual(["GET /data", "GET /in", "GET /data", "GET /out"]);
  });

  it("an entry without a port allows the default port only", async () => {
    const session = await startSession({ permissions: { net: { allow: ["127.0.0.1"] } } });
    const refused = await session.execute(attempt(`${allowed.url}/echo`));
    expect(refused.value).toEqual(["NET_NOT_ALLOWED", expect.any(String)]);
  });
});
