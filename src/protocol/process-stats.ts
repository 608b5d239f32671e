/**
 * The fields a heartbeat reports about its sender, and a sampler of them for the
 * current process.
 */
import type { Heartbeat } from "./messages.ts";

export type HeartbeatFields = Pick<Heartbeat, "memory_usage" | "cpu_percent" | "namespace_size">;

/**
 * Returns a function that samples this process: resident set size, CPU use since the
 * previous sample (percent of one core), and `namespaceSize()`.
 */
export function processStatsSampler(namespaceSize: () => number = () => 0): () => HeartbeatFields {
  let lastCpu = process.cpuUsage();
  let lastAt = performance.now();
  return () => {
    const now = performance.now();
    const cpu = process.cpuUsage(lastCpu);
    const wallMicros = (now - lastAt) * 1000;
    lastCpu = process.cpuUsage();
    lastAt = now;
    const busyMicros = cpu.user + cpu.system;
    return {
      memory_usage: process.memoryUsage.rss(),
      cpu_percent: wallMicros > 0 ? (busyMicros / wallMicros) * 100 : 0,
      namespace_size: namespaceSize(),
    };
  };
}
