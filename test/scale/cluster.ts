/**
 * A small cluster of real processes for the worker-group tests: `capsule serve` in this
 * process on 127.0.0.1 port 0, `capsule worker` processes started through the CLI, and
 * orchestrator processes (fixtures/orchestrator.ts) reporting as JSON lines.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { searchPromises } from "../../durable/promise-query.ts";
import { createRemoteNetwork } from "../../durable/remote.ts";
import { type RunningServer, serve } from "../../durable/serve/http-server.ts";
import {
  type JsonLinesChild,
  killJsonLinesChildren,
  startJsonLinesChild,
} from "../support/json-lines-child.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(here, "..", "..", "src", "cli", "main.ts");
const ORCHESTRATOR = path.join(here, "fixtures", "orchestrator.ts");

export interface WorkerProcess {
  process: ChildProcess;
  /** OS pid of the worker process. */
  pid: number;
  /** Its id on the server. */
  serverPid: string;
  exited: Promise<unknown>;
  stderr(): string;
}

export interface RanOnReport {
  worker: string;
  hostPid: number;
  sessionPid: number;
  start: "live" | "restored" | "fresh";
}

export class Cluster {
  readonly root: string;
  readonly side: string;
  server!: RunningServer;
  readonly #workers = new Set<WorkerProcess>();

  constructor() {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-scale-"));
    this.side = path.join(this.root, "side");
    fs.mkdirSync(this.side);
  }

  async start(): Promise<void> {
    this.server = await serve({ dir: path.join(this.root, "served"), port: 0 });
  }

  /** Stops `capsule serve` and starts it again on the same port and store. */
  async restartServer(): Promise<void> {
    const port = Number(new URL(this.server.url).port);
    await this.server.close();
    this.server = await serve({ dir: path.join(this.root, "served"), port });
  }

  /** A `capsule worker` process, resolved once it has joined the group. */
  async worker(leaseMs = 2_000): Promise<WorkerProcess> {
    const child = spawn(
      process.execPath,
      [
        CLI,
        "worker",
        "--url",
        this.server.url,
        "--group",
        "cells",
        "--concurrency",
        "2",
        "--lease",
        String(leaseMs),
        "--allow-fs-read",
        this.side,
        "--allow-fs-write",
        this.side,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    const serverPid = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout?.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const joined = /worker (\S+) \(pid \d+\) in group/.exec(out);
        if (joined?.[1] !== undefined) resolve(joined[1]);
      });
      void exited.then(() => reject(new Error(`worker exited before joining:\n${stderr}`)));
    });
    const worker: WorkerProcess = {
      process: child,
      pid: child.pid ?? -1,
      serverPid,
      exited,
      stderr: () => stderr,
    };
    this.#workers.add(worker);
    return worker;
  }

  orchestrator(args: string[], env: NodeJS.ProcessEnv = {}): JsonLinesChild {
    return startJsonLinesChild(ORCHESTRATOR, [args[0] ?? "", this.side, ...args.slice(1)], {
      ...process.env,
      RESONATE_URL: this.server.url,
      ...env,
    });
  }

  /** A fixture of test/scale/fixtures in remote mode against this cluster's server. */
  fixture(name: string, args: string[], env: NodeJS.ProcessEnv = {}): JsonLinesChild {
    return startJsonLinesChild(path.join(here, "fixtures", name), args, {
      ...process.env,
      RESONATE_URL: this.server.url,
      ...env,
    });
  }

  async kill(worker: WorkerProcess): Promise<void> {
    worker.process.kill("SIGKILL");
    await worker.exited;
    this.#workers.delete(worker);
  }

  /** How often each cell ran, from the O_APPEND side file. */
  runs(): Record<string, number> {
    const file = path.join(this.side, "runs.log");
    const counts: Record<string, number> = {};
    if (!fs.existsSync(file)) return counts;
    for (const line of fs.readFileSync(file, "utf8").split("\n").filter(Boolean)) {
      counts[line] = (counts[line] ?? 0) + 1;
    }
    return counts;
  }

  /** Resolves once `name` exists in the side directory (a watch, not a poll). */
  sideFile(name: string): Promise<void> {
    const file = path.join(this.side, name);
    return new Promise((resolve) => {
      const watcher = fs.watch(this.side, () => {
        if (fs.existsSync(file)) {
          watcher.close();
          resolve();
        }
      });
      if (fs.existsSync(file)) {
        watcher.close();
        resolve();
      }
    });
  }

  open(name: string): void {
    fs.writeFileSync(path.join(this.side, name), "");
  }

  /** The group's cell promises in the store, as any client sees them. */
  async cellPromises(): Promise<{ id: string; state: string }[]> {
    const { network } = createRemoteNetwork({ url: this.server.url, pid: "scale-test-reader" });
    const found = await searchPromises(network.send, { "capsule:group": "cells" });
    await network.stop();
    return found.map((p) => ({ id: p.id, state: p.state }));
  }

  async close(): Promise<void> {
    await killJsonLinesChildren();
    await Promise.all([...this.#workers].map((worker) => this.kill(worker)));
    await this.server?.close();
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** The OS pids from `pid` up to init, read from /proc. */
export function ancestry(pid: number): number[] {
  const chain: number[] = [];
  let current = pid;
  while (current > 1 && chain.length < 64) {
    chain.push(current);
    let status: string;
    try {
      status = fs.readFileSync(`/proc/${current}/status`, "utf8");
    } catch {
      break;
    }
    current = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  }
  return chain;
}
