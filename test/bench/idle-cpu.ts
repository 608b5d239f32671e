/**
 * What idle sessions cost in CPU: every thread of every worker over a window in which
 * nothing is asked of them, beside the floor of a process that only answers its host's
 * heartbeat (a `node` child echoing one ping a second) measured over the same window.
 * Each wake-up of an idle thread costs ~0.2–0.4 ms of CPU on this machine, so what an
 * idle session costs is mostly how often its threads wake.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { percentile } from "./harness.ts";
import { startEcho, threadsCpuTimeUs } from "./processes.ts";

/** How long the window is, and how often the floor's echo is pinged meanwhile. */
const WINDOW_MS = 10_000;
const PING_MS = 1000;

export async function printIdleCpu(pids: readonly number[]): Promise<void> {
  const echo = startEcho();
  try {
    await echo.roundTrip();
    const echoPid = echo.pid;
    const before = pids.map(threadsCpuTimeUs);
    const echoBefore = threadsCpuTimeUs(echoPid);
    const hostBefore = process.cpuUsage();
    const start = performance.now();
    for (let at = PING_MS; at <= WINDOW_MS; at += PING_MS) {
      await sleep(Math.max(0, start + at - performance.now()));
      await echo.roundTrip();
    }
    const seconds = (performance.now() - start) / 1000;
    const perSecondMs = pids
      .map((pid, index) => (threadsCpuTimeUs(pid) - before[index]!) / 1000 / seconds)
      .sort((a, b) => a - b);
    const echoMs = (threadsCpuTimeUs(echoPid) - echoBefore) / 1000 / seconds;
    const host = process.cpuUsage(hostBefore);
    const hostCores = (host.user + host.system) / 1e6 / seconds;
    const median = percentile(perSecondMs, 0.5);
    const p99 = percentile(perSecondMs, 0.99);
    const total = perSecondMs.reduce((sum, ms) => sum + ms, 0) / 1000;
    console.log(
      `  CPU while idle (${(WINDOW_MS / 1000).toFixed(0)} s window): ${median.toFixed(2)} ms a second per session ` +
        `(median; p99 ${p99.toFixed(2)}), ${total.toFixed(2)} cores for all ${pids.length} ` +
        `(${median.toFixed(2)} cores per 1,000); host ${hostCores.toFixed(2)} cores — ` +
        `a node child answering one ping a second: ${echoMs.toFixed(2)} ms a second, ` +
        `${(median / echoMs).toFixed(2)}×`,
    );
  } finally {
    await echo.close();
  }
}
