import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { processExists, waitForPidsGone } from "../support/processes.ts";

const HOST = fileURLToPath(new URL("./fixtures/host.ts", import.meta.url));

describe("no orphans", () => {
  it("workers exit when their host is killed with SIGKILL, even mid-cell", async () => {
    const host = spawn(process.execPath, [HOST], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const lines = createInterface({ input: host.stdout });
      const [line] = (await once(lines, "line")) as [string];
      const pids = JSON.parse(line) as number[];
      expect(pids).toHaveLength(3);
      expect(pids.every(processExists)).toBe(true);

      host.kill("SIGKILL");
      await once(host, "exit");
      // Generous: on a loaded 2-core machine the watchdog thread may wait for a slot.
      expect(await waitForPidsGone(pids, 30_000)).toEqual([]);
    } finally {
      host.kill("SIGKILL");
    }
  });
});
