/**
 * Run-wide leak check: when every test file has finished, no orphaned session worker of
 * this checkout may still be running (its host gone, it should have exited by itself).
 * A leak fails the run and is cleaned up. Workers whose host is still alive belong to
 * some other run in the same checkout and are left alone.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildHost, HOST_BUILD_DIR } from "../src/build/host-build.ts";
import { currentStaleReason, REBUILD_ENV } from "../src/build/manifest.ts";
import { buildWorkers } from "../src/build/worker-build.ts";

/** Every worker runs a build below this directory (src/build/worker-build.ts). */
const WORKER_BUILDS = path.join(fileURLToPath(new URL("..", import.meta.url)), "workers", "dist");

function leakedWorkers(): { pid: number; args: string }[] {
  const found: { pid: number; args: string }[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string;
    let parent: number;
    try {
      args = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ");
      // Field 4 of /proc/<pid>/stat is the parent pid (after the parenthesized name).
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {
      continue; // exited while we looked
    }
    const orphaned = parent === 1;
    if (orphaned && args.includes(WORKER_BUILDS))
      found.push({ pid: Number(entry), args: args.slice(0, 160) });
  }
  return found;
}

/**
 * Workers run the JavaScript build of workers/ (a spawn refuses a stale one): rebuild it
 * when a source changed, here and, for edits made while the run goes on, at a spawn (the
 * test processes inherit this environment). The `capsule` launcher and the child
 * processes that import Capsule by its package name run the host build (src/dist),
 * rebuilt here when stale; an edit made while the run goes on makes them fail with
 * HOST_BUILD_STALE.
 */
export function setup(): void {
  const root = fileURLToPath(new URL("..", import.meta.url));
  if (currentStaleReason(root) !== undefined) buildWorkers({ root });
  if (currentStaleReason(root, path.join(root, HOST_BUILD_DIR)) !== undefined) buildHost(root);
  process.env[REBUILD_ENV] = "rebuild-stale";
  // The `capsule` launcher keeps Node's compile cache in the user's cache directory; the
  // CLI processes of a test run share one of their own, removed at the end.
  if (process.env.NODE_COMPILE_CACHE === undefined) {
    compileCache = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-test-compile-cache-"));
    process.env.NODE_COMPILE_CACHE = compileCache;
  }
}

let compileCache: string | undefined;

/**
 * Workers of a test file that just ended are still exiting (they notice the closed pipe
 * within milliseconds); only those still alive after a bounded grace count as leaks.
 */
export async function teardown(): Promise<void> {
  if (compileCache !== undefined) fs.rmSync(compileCache, { recursive: true, force: true });
  const until = Date.now() + 5000;
  let leaked = leakedWorkers();
  while (leaked.length > 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    leaked = leakedWorkers();
  }
  for (const { pid } of leaked) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  if (leaked.length > 0) {
    throw new Error(
      `${leaked.length} session worker process(es) of this checkout outlived the test run:\n${leaked.map((l) => `  ${l.pid} ${l.args}`).join("\n")}`,
    );
  }
}
