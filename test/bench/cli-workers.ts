/**
 * `capsule worker` processes for the worker-group benches, started through the CLI
 * against a server and ready once they say they joined their group.
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";

const CLI = path.join(import.meta.dirname, "..", "..", "src", "cli", "main.ts");

export interface CliWorker {
  child: ChildProcess;
  exited: Promise<unknown>;
}

/** Starts `capsule worker --url <url> --concurrency 1 ...extraArgs`; resolves once it joined. */
export function startCliWorker(url: string, extraArgs: readonly string[] = []): Promise<CliWorker> {
  const child = spawn(
    process.execPath,
    [CLI, "worker", "--url", url, "--concurrency", "1", ...extraArgs],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes(" in group ")) resolve({ child, exited });
    });
    void exited.then(() => reject(new Error("worker exited before joining")));
  });
}

export async function stopCliWorker(
  worker: CliWorker,
  signal: NodeJS.Signals = "SIGTERM",
): Promise<void> {
  worker.child.kill(signal);
  await worker.exited;
}
