/**
 * The server a store opens with: rebuilt from what the database holds live, with the
 * leases of the previous (dead) owner released and that release committed, before any
 * request is answered.
 */
import { StoreError } from "../../src/errors.ts";
import type { EmbeddedNetworkOptions } from "./network-options.ts";
import { Outbox } from "./outbox.ts";
import { type RecoveryReport, releaseOrphanedTasks } from "./recovery.ts";
import { createProtocolServer, type ProtocolServer } from "./sdk.ts";
import type { StoreDatabase } from "./store-db.ts";
import { collectTouched } from "./touched.ts";

export interface RebuiltServer {
  server: ProtocolServer;
  /** With `persistMessages`: the messages not yet delivered, loaded (outbox.ts). */
  outbox: Outbox | undefined;
  recovery: RecoveryReport;
}

/**
 * @throws StoreError STORE_CORRUPT when the rows cannot be rebuilt into a server,
 *   STORE_WRITE_FAILED when the recovery cannot be committed.
 */
export function rebuildServer(
  database: StoreDatabase,
  options: EmbeddedNetworkOptions,
): RebuiltServer {
  const server = createProtocolServer();
  const outbox = options.persistMessages === true ? new Outbox(database) : undefined;
  let recovered: ReturnType<typeof releaseOrphanedTasks>;
  try {
    database.loadLive(server);
    // Before recovery's own messages, which replace a task's older execute row.
    outbox?.load(server);
    recovered = releaseOrphanedTasks(server, (options.now ?? Date.now)(), {
      releaseLeases: options.leasesOnOpen !== "keep",
    });
  } catch (error) {
    if (error instanceof StoreError) throw error;
    throw new StoreError("STORE_CORRUPT", `cannot rebuild the store in ${options.dir}`, {
      cause: error,
    });
  }
  try {
    const touched = collectTouched(recovered.changes);
    database.persist(server, touched, outbox && (() => outbox.write(server, touched)));
    outbox?.committed();
  } catch (error) {
    throw new StoreError("STORE_WRITE_FAILED", `cannot persist recovery in ${options.dir}`, {
      cause: error,
    });
  }
  return { server, outbox, recovery: recovered.report };
}
