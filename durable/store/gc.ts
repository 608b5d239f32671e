/**
 * Garbage collection of finished executions. A root execution (a promise that is its own
 * `resonate:origin`) settled before the cut-off is removed together with its whole
 * lineage (every promise whose origin is the root, and their tasks and timeouts), from
 * the server's memory and from the file, in one transaction. A lineage is kept whole if
 * any of its promises is still pending or any of its tasks is not fulfilled (a detached
 * child may still be running): gc never removes state that work in flight can read.
 */
import type { ProtocolServer } from "./sdk.ts";
import type { StoreDatabase } from "./store-db.ts";

export interface GcResult {
  /** Root executions removed. */
  roots: number;
  /** Promises removed, roots included. */
  promises: number;
}

function isFinished(server: ProtocolServer, id: string): boolean {
  const promise = server.promises.get(id);
  if (promise !== undefined && promise.state === "pending") return false;
  const task = server.tasks.get(id);
  return task === undefined || task.state === "fulfilled";
}

export function collectFinishedExecutions(
  server: ProtocolServer,
  database: StoreDatabase,
  settledBefore: number,
): GcResult {
  const doomed: string[] = [];
  let roots = 0;
  for (const root of database.settledRootsBefore(settledBefore)) {
    const lineage = database.lineage(root);
    if (!lineage.every((id) => isFinished(server, id))) continue;
    roots += 1;
    doomed.push(...lineage);
  }
  if (doomed.length === 0) return { roots: 0, promises: 0 };

  // Disk first: if the delete fails it rolls back and memory still matches the file.
  database.deletePromises(doomed);
  const gone = new Set(doomed);
  for (const id of doomed) {
    server.promises.delete(id);
    server.tasks.delete(id);
  }
  server.pTimeouts = server.pTimeouts.filter((timeout) => !gone.has(timeout.id));
  server.tTimeouts = server.tTimeouts.filter((timeout) => !gone.has(timeout.id));
  return { roots, promises: doomed.length };
}
