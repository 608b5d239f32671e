/**
 * Keeps this process's task leases alive.
 *
 * The SDK heartbeats only tasks it acquired from an `execute` message (`Core.onMessage`
 * starts `AsyncHeartbeat`); a task created and acquired by `resonate.run(...)` goes
 * straight to `executeUntilBlocked` with no heartbeat. A step longer than the lease
 * (`ttl`, 60 s by default) would then have its root task released by a tick and
 * dispatched again while the first run is still going: the step would run twice.
 *
 * The embedded store is owned by one process (ownership.ts) and recovery released every
 * lease of the previous owner, so every `acquired` task in the server is held by this
 * process. On each tick, every acquired task whose lease has less than half its ttl left
 * gets the server's own `task.heartbeat` request (for the pid that holds it), which
 * re-arms the lease to now + ttl. Durable-sleep timer tasks are left out: the SDK drops
 * those on purpose and relies on their lease lapsing.
 */
import { type ProtocolServer, type ServerChange, storeRequestHead } from "./sdk.ts";

const DEFAULT_TTL_MS = 30_000;

export function renewLeases(server: ProtocolServer, now: number): ServerChange[] {
  const dueByPid = new Map<string, { id: string; version: number }[]>();
  for (const timeout of server.tTimeouts) {
    if (timeout.type !== 1) continue;
    const task = server.tasks.get(timeout.id);
    if (task === undefined || task.state !== "acquired" || task.pid === undefined) continue;
    if (server.promises.get(task.id)?.tags["resonate:timer"] === "true") continue;
    const ttl = task.ttl ?? DEFAULT_TTL_MS;
    if (timeout.timeout - now > ttl / 2) continue;
    const due = dueByPid.get(task.pid) ?? [];
    due.push({ id: task.id, version: task.version });
    dueByPid.set(task.pid, due);
  }
  const changes: ServerChange[] = [];
  for (const [pid, tasks] of dueByPid) {
    const result = server.apply(now, {
      kind: "task.heartbeat",
      head: storeRequestHead(),
      data: { pid, tasks },
    });
    changes.push(...result.changes);
  }
  return changes;
}
