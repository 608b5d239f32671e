/** What the durable benches share: statistics of samples, and Capsules on each backend. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { LocalNetwork } from "@resonatehq/sdk";
import { Capsule } from "../../durable/index.ts";
import type { Durability } from "../../durable/store/index.ts";
import type { PoolOptions } from "../../src/session/index.ts";
import type { Measurement } from "./harness.ts";

/** Samples in milliseconds as a table row. */
export function stats(name: string, samplesMs: number[]): Measurement {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (fraction: number): number =>
    sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1))] ??
    Number.NaN;
  const total = sorted.reduce((sum, x) => sum + x, 0);
  return {
    name,
    medianUs: at(0.5) * 1000,
    p99Us: at(0.99) * 1000,
    opsPerSec: sorted.length / (total / 1000),
  };
}

/** Where the durable promises live: in memory (the SDK's LocalNetwork) or the store. */
export type Backend = "memory" | Durability;

/** A Capsule, and its store's directory to remove after it closes. */
export interface OpenCapsule {
  capsule: Capsule;
  dir: string | undefined;
}

/** A Capsule on `kind`, and the store's directory to remove after it closes. */
export async function openCapsule(
  kind: Backend,
  pool: PoolOptions = { minIdle: 1 },
): Promise<OpenCapsule> {
  if (kind === "memory") {
    const pid = "bench";
    const network = new LocalNetwork({ pid });
    return { capsule: await Capsule.open({ network, pid, pool }), dir: undefined };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-durable-bench-"));
  try {
    return { capsule: await Capsule.open({ dir, durability: kind, pool }), dir };
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Closes what `openCapsule` opened and removes its store's directory. */
export async function closeCapsule({ capsule, dir }: OpenCapsule): Promise<void> {
  await capsule.close();
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
}

export async function withCapsule<T>(
  kind: Backend,
  work: (capsule: Capsule) => Promise<T>,
): Promise<T> {
  const opened = await openCapsule(kind);
  try {
    return await work(opened.capsule);
  } finally {
    await closeCapsule(opened);
  }
}

/** A backend's name in the tables. */
export function backendName(kind: Backend): string {
  return kind === "memory" ? "LocalNetwork (in memory)" : `store durability=${kind}`;
}
