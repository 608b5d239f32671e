/**
 * The session worker's main thread, once its entry (session-worker.ts) has started the
 * service thread: this thread runs every cell, in the session's one realm, while the
 * service thread owns the frame pipe (fd 3) so the session stays responsive when a cell
 * blocks this thread, and watches the process (host gone, RSS limit). The user's stdout
 * and stderr are captured and sent as `output` messages, so user output never mixes with
 * frames.
 */
import { fs } from "../src/builtins.ts";
import { PROTOCOL_VERSION } from "../src/protocol/version.ts";
import type { WorkerConfig } from "./config.ts";
import { ServiceLink } from "./executors/service-link.ts";
import type { StartedService } from "./executors/service-start.ts";
import { IdleCompaction } from "./idle-compaction.ts";
import type { WorkerRuntime } from "./runtime.ts";

/** Sets the worker up around its started service thread and says READY. */
export async function runWorker(config: WorkerConfig, started: StartedService): Promise<void> {
  const service = new ServiceLink(started);
  // The service thread is still booting (~20 ms: its own isolate and module) while this
  // thread loads the guard and the runtime: nothing arrives from the host before READY,
  // sent below (by this thread if that one is not up yet). The guard comes first, before
  // any module that runs a cell (see builtin-guard.ts).
  service.onDiagnostic = (text) => fs.writeSync(2, text);
  await import("./builtin-guard.ts");
  const { WorkerRuntime: Runtime } = await import("./runtime.ts");
  const runtime = new Runtime({
    moduleRoot: config.moduleRoot,
    outputLimitBytes: config.outputLimitBytes,
    checkpointMaxBytes: config.checkpointMaxBytes,
    defaultTimeoutMs: config.defaultTimeoutMs,
    service,
  });

  // An idle session gives this thread's heap slack back (the service thread does its own).
  const compaction = new IdleCompaction({
    idle: () => runtime.idle,
    enter: (work) => service.runtime(work),
  });

  captureProcessOutput(runtime);
  // A cell's stray callback must not take the session down: report it as that cell's stderr.
  process.on("uncaughtException", (error) =>
    runtime.writeOutput("stderr", `Uncaught ${describe(error)}\n`),
  );
  process.on("unhandledRejection", (reason) =>
    runtime.writeOutput("stderr", `Uncaught (in promise) ${describe(reason)}\n`),
  );
  // Cells are interrupted through the service thread, never by a signal; a stray SIGINT
  // (a terminal's Ctrl-C reaching the group) must not kill the session.
  process.on("SIGINT", () => {});

  service.onHost = (message, token) => {
    if (message.type !== "heartbeat") compaction.activity();
    runtime.handle(message, token);
  };
  service.onDiagnostic = (text) => runtime.writeOutput("stderr", text);
  service.onStray = (notice) => runtime.strayStopped(notice);
  service.onExit = () => {
    compaction.stop();
    runtime.close();
    // Stopping the service thread first closes its inspector session, so Node does not
    // print "Waiting for the debugger to disconnect" on the way out.
    void service.close().finally(() => process.exit(0));
  };
  service.sendReady({ type: "ready", pid: process.pid, protocol_version: PROTOCOL_VERSION });
  // After READY, not before it: a pooled session waits idle, and its first cell should not
  // pay for loading the checkpoint codec or for V8 compiling the cell path (warm-up.ts; a
  // cell that arrives first does that itself). A failed warm-up costs only its time.
  setImmediate(() =>
    service.runtime(() => {
      runtime.warmUp(config.warmCheckpoints).catch(() => {});
    }),
  );
  // What starting and warming up left behind goes back if no cell comes soon.
  compaction.activity();
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
