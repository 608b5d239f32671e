/**
 * `capsule kernel -f CONNECTION_FILE`: the kernel process a Jupyter frontend starts.
 * Its store is `{dir}/kernels/{session}` (dir: `--dir`, `$CAPSULE_DIR` or `.capsule`):
 * one store per notebook, because a store has one owning process and two notebooks
 * open side by side are two kernel processes.
 */
import fs from "node:fs";
import path from "node:path";
import { Capsule } from "../../durable/index.ts";
import { packageRootOf } from "../build/manifest.ts";
import { type StoreOptions, storeDir } from "../cli/store.ts";
import { kernelIdOf, readConnectionFile } from "./connection.ts";
import { Kernel } from "./kernel.ts";
import { baseName, Generations, restartKeepsNamespace } from "./session-name.ts";

const PARENT_POLL_MS = 1_000;

export interface KernelCommandOptions extends StoreOptions {
  connectionFile: string;
  timeout?: number;
}

function packageVersion(): string {
  const file = path.join(packageRootOf(import.meta.url), "package.json");
  const json: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
  const version = (json as { version?: unknown }).version;
  return typeof version === "string" ? version : "0.0.0";
}

export async function kernelCommand(options: KernelCommandOptions): Promise<void> {
  const connection = readConnectionFile(options.connectionFile);
  const base = baseName(process.env, kernelIdOf(options.connectionFile));
  const dir = path.join(storeDir(options), "kernels", base);
  const generations = new Generations(dir, base);
  const keep = restartKeepsNamespace(process.env);
  const log = (line: string) => process.stderr.write(`capsule kernel: ${line}\n`);
  const capsule = await Capsule.open({ dir, pool: { minIdle: 1 } });
  const kernel = new Kernel({
    connection,
    capsule,
    sessionName: generations.name(),
    generation: generations.current,
    onRestart: () => {
      if (!keep)
        log(`restart requested: the next kernel starts session ${generations.advance()}, empty`);
    },
    log,
    version: packageVersion(),
    ...(options.timeout === undefined ? {} : { timeoutMs: options.timeout }),
  });
  const onInterrupt = () => kernel.interrupt();
  const onTerminate = () => kernel.stop();
  process.on("SIGINT", onInterrupt);
  process.on("SIGTERM", onTerminate);
  process.on("SIGHUP", onTerminate);
  // As ipykernel does: a kernel whose frontend process died (JPY_PARENT_PID is set by
  // jupyter_client) stops instead of living on as an orphan holding the store.
  const parent = process.ppid;
  const parentWatch =
    process.env.JPY_PARENT_PID === undefined
      ? undefined
      : setInterval(() => {
          if (process.ppid !== parent) {
            log("the frontend process is gone; stopping");
            kernel.stop();
          }
        }, PARENT_POLL_MS);
  parentWatch?.unref();
  log(`session ${generations.name()} in ${dir}`);
  try {
    await kernel.serve();
  } finally {
    clearInterval(parentWatch);
    process.off("SIGINT", onInterrupt);
    process.off("SIGTERM", onTerminate);
    process.off("SIGHUP", onTerminate);
    await capsule.close();
  }
}
