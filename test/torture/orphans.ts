/** Session workers whose host is gone (reparented to init) after a bounded grace. */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Every worker runs a build below this directory (src/build/worker-build.ts). */
const WORKER_BUILDS = path.join(
  fileURLToPath(new URL("../..", import.meta.url)),
  "workers",
  "dist",
);

function scan(): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8");
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parent === 1 && args.includes(WORKER_BUILDS)) found.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** Workers notice a dead host within a watchdog period; only those still alive after 5 s count. */
export async function orphanedWorkers(): Promise<number[]> {
  const until = Date.now() + 5_000;
  let found = scan();
  while (found.length > 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    found = scan();
  }
  return found;
}
