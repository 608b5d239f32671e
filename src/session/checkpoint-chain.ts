/**
 * The host's copy of a session's latest checkpoint: the last full checkpoint followed by
 * the increments the worker sent after later cells. It is what a replacement worker is
 * restored from after a crash, and what `session.checkpoint()` hands to callers.
 */
import { randomUUID } from "node:crypto";
import { CheckpointError } from "../errors.ts";
import type { CheckpointPayload } from "../protocol/messages.ts";
import type { WorkerProcess } from "./worker-process.ts";

/** A versioned, encodable checkpoint: plain data (numbers, strings, byte arrays). */
export interface SessionCheckpoint {
  version: number;
  /** A full checkpoint, then increments in order. */
  chain: Uint8Array[];
  /** Names that could not be captured, with the reason. */
  uncaptured: { name: string; reason: string }[];
  /** Total encoded size, bytes. */
  bytes: number;
}

export interface RestoreReport {
  /** Names restored into the namespace. */
  names: string[];
  /** Names that could not be re-created, with the reason. */
  failed: { name: string; reason: string }[];
}

export class CheckpointChain {
  #version = 0;
  #chain: Uint8Array[] = [];
  #uncaptured = new Map<string, string>();

  get empty(): boolean {
    return this.#chain.length === 0;
  }

  clear(): void {
    this.#version = 0;
    this.#chain = [];
    this.#uncaptured.clear();
  }

  apply(message: CheckpointPayload): void {
    if (!message.incremental) {
      this.#chain = [message.data];
      this.#uncaptured.clear();
    } else if (this.#chain.length === 0) {
      // An increment needs its base; the worker always starts with a full checkpoint.
      throw new CheckpointError(
        "CHECKPOINT_INVALID",
        "incremental checkpoint without a full one before it",
      );
    } else {
      this.#chain.push(message.data);
    }
    for (const name of message.removed) this.#uncaptured.delete(name);
    for (const { name, reason } of message.uncaptured) this.#uncaptured.set(name, reason);
    this.#version = message.version;
  }

  snapshot(): SessionCheckpoint {
    return {
      version: this.#version,
      chain: [...this.#chain],
      uncaptured: [...this.#uncaptured].map(([name, reason]) => ({ name, reason })),
      bytes: this.#chain.reduce((total, link) => total + link.byteLength, 0),
    };
  }

  /** Sends `checkpoint` to `worker`; it becomes this chain's state once the worker loaded it. */
  async restoreInto(worker: WorkerProcess, checkpoint: SessionCheckpoint): Promise<RestoreReport> {
    if (checkpoint.chain.length === 0) return { names: [], failed: [] };
    const id = `restore:${randomUUID()}`;
    const message = {
      type: "restore",
      id,
      version: checkpoint.version,
      chain: checkpoint.chain,
    } as const;
    const report = await worker.call(id, message, (reply) =>
      reply.type === "restored" ? { names: reply.names, failed: reply.failed } : undefined,
    );
    this.#version = checkpoint.version;
    this.#chain = [...checkpoint.chain];
    this.#uncaptured = new Map(checkpoint.uncaptured.map(({ name, reason }) => [name, reason]));
    return report;
  }
}
