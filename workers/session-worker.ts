/**
 * Entry point of a session worker process (spawned by `src/session`). Frames travel on
 * fd 3, a pipe of their own; the user's stdout and stderr are captured and sent as
 * `output` messages, so user output never mixes with frames.
 *
 * The worker exits by itself when its host goes away: when the frame pipe closes, and —
 * because a cell in a busy loop never sees the pipe close — when a watchdog thread sees
 * the parent process change. The same thread enforces the RSS limit.
 */
import { Socket } from "node:net";
import { Worker } from "node:worker_threads";
import { z } from "zod";
import { ProtocolChannel } from "../src/protocol/channel.ts";
import { isHostMessage, PROTOCOL_VERSION } from "../src/protocol/messages.ts";
import { processStatsSampler } from "../src/protocol/process-stats.ts";
import { WorkerRuntime } from "./runtime.ts";

const ConfigSchema = z.object({
  moduleRoot: z.string(),
  heartbeatMs: z.number().nonnegative(),
  graceMs: z.number().nonnegative(),
  outputLimitBytes: z.number().int().positive(),
  checkpointMaxBytes: z.number().int().positive(),
  defaultTimeoutMs: z.number().int().positive(),
  maxFrameBytes: z.number().int().positive(),
  memoryLimitBytes: z.number().int().positive(),
});
export type WorkerConfig = z.infer<typeof ConfigSchema>;

/** Written to stderr by the watchdog before it ends the process over the RSS limit. */
export const MEMORY_LIMIT_MARKER = "CAPSULE_MEMORY_LIMIT";

const config = ConfigSchema.parse(JSON.parse(process.argv[2] ?? "{}"));

startWatchdog(process.ppid, config.memoryLimitBytes);

const socket = new Socket({ fd: 3, readable: true, writable: true });
let runtime: WorkerRuntime | undefined;
const channel = new ProtocolChannel(socket, {
  heartbeatIntervalMs: config.heartbeatMs,
  graceMs: config.graceMs,
  maxFrameBytes: config.maxFrameBytes,
  heartbeatFields: processStatsSampler(() => runtime?.namespaceSize ?? 0),
});
// The worker heartbeats and answers test requests, but does not judge its host by
// silence: a host starved of CPU (a hundred workers starting on two cores) is slow, not
// gone, and ending the session for it lost work. A host that is really gone closes the
// pipe or changes our parent, which the pipe and the watchdog see.
channel.watchPeer(false);
runtime = new WorkerRuntime({
  moduleRoot: config.moduleRoot,
  outputLimitBytes: config.outputLimitBytes,
  checkpointMaxBytes: config.checkpointMaxBytes,
  defaultTimeoutMs: config.defaultTimeoutMs,
  send: (message) => channel.send(message),
});
const active = runtime;

captureProcessOutput(active);
// A cell's stray callback must not take the session down: report it as that cell's stderr.
process.on("uncaughtException", (error) =>
  active.writeOutput("stderr", `Uncaught ${describe(error)}\n`),
);
process.on("unhandledRejection", (reason) =>
  active.writeOutput("stderr", `Uncaught (in promise) ${describe(reason)}\n`),
);
// SIGINT interrupts a running cell (vm `breakOnSigint`); between cells it must not kill us.
process.on("SIGINT", () => {});

channel.on("message", (message) => {
  if (!isHostMessage(message)) {
    active.writeOutput("stderr", `[capsule protocol] unexpected "${message.type}" from the host\n`);
  } else if (message.type === "shutdown") void shutdown(0);
  else active.handle(message);
});
channel.on("close", () => void shutdown(0));
channel.on("error", (error: Error) =>
  active.writeOutput("stderr", `[capsule protocol] ${error.message}\n`),
);
channel.send({ type: "ready", pid: process.pid, protocol_version: PROTOCOL_VERSION });

async function shutdown(code: number): Promise<never> {
  await active.close().catch(() => undefined);
  channel.close();
  process.exit(code);
}

function captureProcessOutput(target: WorkerRuntime): void {
  for (const stream of ["stdout", "stderr"] as const) {
    const writable = process[stream];
    writable.write = ((
      chunk: string | Uint8Array,
      encodingOrCallback?: unknown,
      callback?: unknown,
    ) => {
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      target.writeOutput(stream, text);
      const done = typeof encodingOrCallback === "function" ? encodingOrCallback : callback;
      if (typeof done === "function") queueMicrotask(() => (done as () => void)());
      return true;
    }) as typeof writable.write;
  }
}

function describe(value: unknown): string {
  if (value instanceof Error || (typeof value === "object" && value !== null && "stack" in value)) {
    return String((value as { stack?: unknown }).stack);
  }
  return String(value);
}

function startWatchdog(parentPid: number, memoryLimitBytes: number): void {
  const source = `
    const { workerData } = require("node:worker_threads");
    const { writeSync } = require("node:fs");
    // Last words for the host's crash report; with the host gone stderr is a broken pipe,
    // and a failed write must not stop the kill that follows.
    const say = (text) => {
      try {
        writeSync(2, text);
      } catch {}
    };
    setInterval(() => {
      if (process.ppid !== workerData.parentPid) {
        say("\\ncapsule: host process " + workerData.parentPid + " is gone; exiting\\n");
        process.kill(process.pid, "SIGKILL");
      }
      const rss = process.memoryUsage.rss();
      if (rss > workerData.memoryLimitBytes) {
        say("\\n${MEMORY_LIMIT_MARKER} rss=" + rss + "\\n");
        process.kill(process.pid, "SIGKILL");
      }
    }, 200);
  `;
  const watchdog = new Worker(source, { eval: true, workerData: { parentPid, memoryLimitBytes } });
  watchdog.unref();
}
