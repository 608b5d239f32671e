/**
 * Fast recovery at open. The store is opened by its sole owner (ownership.ts), so every
 * task the rebuilt server shows as `acquired` is held by a process that is gone. Left
 * alone, the server would only notice when that lease (the SDK's `ttl`, 60 s by default)
 * runs out on a tick. Instead, at open:
 *
 * 1. every `acquired` task is released with the server's own `task.release` request
 *    (same id and version): the server moves it to `pending`, arms its 30 s retry
 *    timeout (type 0) and emits an `execute` message for its target;
 * 2. every task already `pending` may have lost its `execute` message in the crash
 *    (in process, messages live only in memory; `capsule serve` also keeps them in
 *    its outbox, outbox.ts, whose row the new one replaces), so its retry deadline is brought forward to now
 *    and one `debug.tick` is applied: the server's own retry transition re-emits the
 *    `execute` message and re-arms the retry timeout. The same tick also performs any
 *    promise/schedule timeouts that fell due while no process was running.
 *
 * The resulting messages wait in the server's outgoing buffer until the network has a
 * subscriber (the Resonate instance), and are delivered on the next turn of the event
 * loop after `init()`.
 */
import { type ProtocolServer, type ServerChange, storeRequestHead } from "./sdk.ts";

export interface RecoveryReport {
  /** Tasks that a dead process held, released so they are dispatched at once. */
  releasedTasks: string[];
  /** Pending tasks whose `execute` message was sent again. */
  redispatchedTasks: string[];
}

/**
 * `releaseLeases: false` is for a store whose task holders are other processes that may
 * still be alive (`capsule serve`): their leases are kept until they expire, and only the
 * lost `execute` messages of pending tasks are sent again (step 2).
 */
export function releaseOrphanedTasks(
  server: ProtocolServer,
  now: number,
  { releaseLeases = true }: { releaseLeases?: boolean } = {},
): { report: RecoveryReport; changes: ServerChange[] } {
  const changes: ServerChange[] = [];
  const report: RecoveryReport = { releasedTasks: [], redispatchedTasks: [] };

  const pendingBefore = new Set(
    [...server.tasks.values()].filter((task) => task.state === "pending").map((task) => task.id),
  );
  for (const task of [...server.tasks.values()]) {
    if (!releaseLeases || task.state !== "acquired") continue;
    const result = server.apply(now, {
      kind: "task.release",
      head: storeRequestHead(),
      data: { id: task.id, version: task.version },
    });
    changes.push(...result.changes);
    // 409 means the task's promise already timed out: the tick below settles it.
    if (result.response.head.status === 200) report.releasedTasks.push(task.id);
  }

  for (const timeout of server.tTimeouts) {
    if (timeout.type === 0 && pendingBefore.has(timeout.id) && timeout.timeout > now) {
      timeout.timeout = now;
      report.redispatchedTasks.push(timeout.id);
    }
  }
  const tick = server.apply(now, {
    kind: "debug.tick",
    head: storeRequestHead(),
    data: { time: now },
  });
  changes.push(...tick.changes);
  return { report, changes };
}
