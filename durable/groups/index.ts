/** Worker groups: `capsule worker` processes that run the cells of `{ group }` sessions. */
export type { RanOn, RemoteStepRecord, SessionStart } from "./cell-request.ts";
export { CELL_FUNCTION } from "./cell-request.ts";
export { CapsuleWorker, DEFAULT_WORKER_GROUP, type WorkerOptions } from "./worker.ts";
