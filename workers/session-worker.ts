/**
 * Entry point of a session worker process (spawned by `src/session`). It starts the
 * service thread before anything else loads (see service-start.ts: that thread's boot is
 * the longest step of a start, and overlaps the rest only if it begins first), then hands
 * over to session-main.ts, which sets up the main thread and says READY.
 */
import { parseWorkerConfig } from "./config.ts";
import { startServiceThread } from "./executors/service-start.ts";

const config = parseWorkerConfig(process.argv[2] ?? "{}");
const started = startServiceThread(
  {
    heartbeatMs: config.heartbeatMs,
    graceMs: config.graceMs,
    maxFrameBytes: config.maxFrameBytes,
    memoryLimitBytes: config.memoryLimitBytes,
    defaultTimeoutMs: config.defaultTimeoutMs,
  },
  new URL("./executors/service-thread.ts", import.meta.url),
);
const { runWorker } = await import("./session-main.ts");
await runWorker(config, started);
