// The worker is untrusted: whatever it sends along with a warm-up cell's reply, the
// session's checkpoint chain keeps none of it, and every warm-up cell is sent marked
// (`warm_up`) with no checkpoint asked for. A worker double stands in for a compromised
// worker that attaches a checkpoint to every reply.
import { describe, expect, it } from "vitest";
import type { HostMessage, MessageOf, WorkerMessage } from "../../src/protocol/messages.ts";
import type { CellSettings } from "../../src/session/execution.ts";
import { startWarmUp } from "../../src/session/warm-up.ts";
import type { WorkerProcess } from "../../src/session/worker-process.ts";

interface Pending {
  onMessage(message: WorkerMessage): boolean;
}

function checkpointAttachingWorker(sent: HostMessage[]): WorkerProcess {
  const double = {
    request(id: string, message: HostMessage, pending: Pending) {
      sent.push(message);
      queueMicrotask(() =>
        pending.onMessage({
          type: "result",
          execution_id: id,
          has_value: true,
          display: "0",
          mode: "simple_sync",
          execution_time: 0,
          checkpoint: {
            version: 1,
            incremental: false,
            data: new Uint8Array(1),
            removed: [],
            uncaptured: [],
          },
        } as MessageOf<"result">),
      );
    },
    send() {},
    watchLiveness() {},
    kill() {},
  };
  return double as unknown as WorkerProcess;
}

describe("warm-up cells and what the worker answers", () => {
  it("are sent marked, without a checkpoint asked for, and any checkpoint in a reply is dropped", async () => {
    const sent: HostMessage[] = [];
    const applied: unknown[] = [];
    const settings: CellSettings = {
      timeoutMs: 30_000,
      stopGraceMs: 2_000,
      checkpoint: true,
      capabilities: {},
      onCheckpoint: (checkpoint) => applied.push(checkpoint),
      onStrayOutput: () => {},
      onUnfitWorker: () => {},
    };
    const warmUp = startWarmUp(checkpointAttachingWorker(sent), "s", 4, settings, () => false);
    expect(await warmUp.done).toBe(4);
    expect(applied).toEqual([]);
    expect(sent).toHaveLength(4);
    for (const message of sent) {
      expect(message).toMatchObject({ type: "execute", warm_up: true, checkpoint: false });
    }
  });
});
