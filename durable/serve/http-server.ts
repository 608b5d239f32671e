/**
 * `capsule serve`: the embedded durable store behind the Resonate HTTP protocol, so that
 * Capsule processes on other machines (remote mode, `Capsule.open({ url })`) share one
 * store. Requests are POSTed as JSON to `/` and answered by the store (persisted before
 * the answer, as locally); messages reach each process over server-sent events from
 * `/poll/{group}/{pid}`, which is what the SDK's HTTP network speaks. Messages are rows of
 * the store until a poller's connection took them (`persistMessages`, outbox.ts): one
 * produced just before a crash of serve, or for a poller not connected, is delivered
 * after the restart to the poller that connects for its address.
 *
 * The store's own lease keep-alive is off here: it assumes every lease is its process's,
 * which is not true of remote clients. A client that dies loses its tasks when their
 * lease (the client's `leaseMs`) runs out, and another process of the group takes them.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Message } from "@resonatehq/sdk";
import { EmbeddedNetwork } from "../store/index.ts";
import { answerRequest, reply } from "./api.ts";
import { MessageRouter } from "./router.ts";

export interface ServeOptions {
  /** Store directory (locked by this process while it serves). */
  dir: string;
  /** Default 127.0.0.1: serving beyond this machine is a deliberate choice. */
  host?: string;
  /** Default 8001, Resonate's; 0 picks a free port. */
  port?: number;
  /** When set, every request must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** Largest request body, bytes. Default 64 MiB. */
  maxBodyBytes?: number;
  /** Answer `debug.*` requests (reset, tick, snap). Default false: they get a 403. */
  debug?: boolean;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

const POLL_PATH = /^\/poll\/([^/]+)\/([^/]+)\/?$/;

export async function serve(options: ServeOptions): Promise<RunningServer> {
  // Leases belong to the clients: a restart of the server must not take them from a live
  // one (it would run its task twice); a dead client's lease expires on a tick instead.
  const store = EmbeddedNetwork.open({
    dir: options.dir,
    keepLeasesAlive: false,
    leasesOnOpen: "keep",
    persistMessages: true,
  });
  const router = new MessageRouter();
  store.recv((message: Message, address: string, delivered: () => void) =>
    router.route(message, address, delivered),
  );
  await store.init();
  const maxBody = options.maxBodyBytes ?? 64 * 1024 * 1024;
  const streams = new Set<http.ServerResponse>();

  const server = http.createServer((req, res) => {
    // Probes answer without a token, as a Resonate server's do: they reveal nothing.
    if (req.method === "GET" && req.url === "/health") {
      reply(res, 200, { status: "ok" });
      return;
    }
    if (req.method === "GET" && req.url === "/ready") {
      const problem = store.unavailableReason();
      reply(
        res,
        problem === undefined ? 200 : 503,
        problem === undefined ? { status: "ready" } : { error: problem },
      );
      return;
    }
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
      reply(res, 401, { error: "missing or wrong bearer token" });
      return;
    }
    const poll = POLL_PATH.exec(req.url ?? "");
    if (req.method === "GET" && poll !== null) {
      streams.add(res);
      openStream(res, router, decodeURIComponent(poll[1] ?? ""), decodeURIComponent(poll[2] ?? ""));
      res.on("close", () => streams.delete(res));
      return;
    }
    if (req.method === "POST" && (req.url === "/" || req.url === "")) {
      void answerRequest(req, res, { store, maxBodyBytes: maxBody, debug: options.debug ?? false });
      return;
    }
    reply(res, 400, { error: `no such endpoint: ${req.method} ${req.url}` });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8001, options.host ?? "127.0.0.1", () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    close: async () => {
      for (const stream of streams) stream.end();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Idle keep-alive connections would hold close() for their 5 s timeout.
      server.closeAllConnections();
      await closed;
      await store.close();
    },
  };
}

function openStream(
  res: http.ServerResponse,
  router: MessageRouter,
  group: string,
  pid: string,
): void {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
  res.write(": connected\n\n");
  const disconnect = router.connect({
    group,
    pid,
    // Delivered once the kernel has the bytes; a write that fails (the poller is gone)
    // goes back to the router, and the message stays in the store until it is delivered.
    deliver: (message, delivered, failed) =>
      res.write(`data: ${JSON.stringify(message)}\n\n`, (error) => {
        if (error === undefined || error === null) delivered();
        else failed();
      }),
  });
  res.on("close", disconnect);
}
