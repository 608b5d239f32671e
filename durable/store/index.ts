/**
 * The embedded durable store: local mode for Capsule's durable layer.
 *
 * `EmbeddedNetwork` is a Resonate `Network` that runs the SDK's own protocol server
 * state machine (`Server` from @resonatehq/sdk 0.11.5, pinned: see sdk.ts) in process,
 * exactly as the SDK's `LocalNetwork` does (same addresses, same message delivery on the
 * next event-loop turn, same 1 s timeout tick), and additionally:
 *
 * - persists: the full current state of every promise, task, schedule and timeout that
 *   the requests of one event-loop turn (and ticks) touched is written to
 *   `{dir}/store.db` (SQLite via `node:sqlite`, WAL) in one transaction — group commit,
 *   group-commit.ts — *before* any of their acknowledgments is returned or their
 *   messages delivered; only answers a crash cannot contradict go at once
 *   (early-answer.ts: reads of committed state, and the creation of a local step, whose
 *   loss only makes the step run again), so a sequential `ctx.run` step is one commit;
 *   `durability: "process"` (default, synchronous=NORMAL) survives any crash of the
 *   process, `"machine"` (synchronous=FULL) also a power loss (store-db.ts); on open the
 *   server is rebuilt from what is live
 *   (pending promises, unfinished tasks, schedules, timeouts) and loads anything else
 *   by id on first use (stored-map.ts), so open costs the pending work, not the history;
 * - refuses a file that lost commits (generation.ts): `store.db` truncated or replaced,
 *   its WAL deleted or damaged → STORE_CORRUPT, with every file left as it was; after a
 *   reboot only what was synced to the disk is claimed, so a power loss with `process`
 *   only makes the last steps run again;
 * - stops on a failed write: `onFatal` (default: stderr + exit 70) with a StoreError
 *   `STORE_WRITE_FAILED`, because memory and disk would otherwise disagree;
 * - is owned by one process (ownership.ts): a second open gets StoreLockedError
 *   (`STORE_LOCKED`) naming the owner's pid; a killed owner leaves no stale lock;
 * - recovers fast (recovery.ts): tasks the dead previous owner held are released at
 *   open and dispatched as soon as a Resonate instance subscribes;
 * - keeps this process's leases alive (keepalive.ts), so a step longer than the SDK's
 *   60 s lease is not dispatched a second time;
 * - stays bounded: `gc({ olderThanMs })` removes finished executions from memory and
 *   disk, and the server's outgoing message buffer is drained on every dispatch;
 * - with `persistMessages` (`capsule serve`), keeps every outgoing message as a row
 *   committed with the change that produced it, until its receiver has it (outbox.ts).
 *
 * Use:
 * ```ts
 * const network = EmbeddedNetwork.open({ dir: ".capsule/store" });
 * const resonate = new Resonate({ network, pid: network.pid }); // "@resonatehq/sdk/async"
 * resonate.register("job", job); // register synchronously, before awaiting anything:
 * // recovered work is delivered on the next event-loop turn.
 * ...
 * await resonate.stop();
 * await network.close(); // releases the lock
 * ```
 */
export {
  EmbeddedNetwork,
  type EmbeddedNetworkOptions,
  STORE_FATAL_EXIT_CODE,
  type StoreStats,
} from "./embedded-network.ts";
export type { GcResult } from "./gc.ts";
export type { RecoveryReport } from "./recovery.ts";
export { installedSdkVersion, PINNED_SDK_VERSION } from "./sdk.ts";
export type { Durability, WriteCounters } from "./store-db.ts";
