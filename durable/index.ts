/**
 * capsule/durable: durable functions whose steps are code cells in isolated sessions.
 *
 * ```ts
 * const capsule = await Capsule.open({ dir: ".capsule", pool: { limits: { timeoutMs: 10_000 } } });
 * const analyze = capsule.register("analyze", async (ctx, data: number[]) => {
 *   const s = ctx.session("main");          // a durable session, scoped to this execution
 *   await s.execute(`const data = ${JSON.stringify(data)}`);
 *   const r = await s.execute("data.reduce((a, b) => a + b, 0)");
 *   await ctx.sleep(10);                    // every Resonate context operation is there
 *   return r.value;
 * });
 * const handle = await analyze.run("analyze-1", [1, 2, 3]); // the id is the idempotency key
 * await handle.result();                                    // 6
 * const again = await capsule.get("analyze-1");
 * await capsule.close();
 * ```
 *
 * - `ctx` is the Resonate async-engine context plus `session(name)`.
 * - `session.execute(code, { onOutput, onInput, signal, timeoutMs, mode })` is a durable
 *   step (a `ctx.run` promise) recording the result or user error, the output and the
 *   checkpoint after the cell. On a resume, recorded cells return their records without
 *   running (their output is replayed to `onOutput` with `replayed: true`); the first
 *   cell that must run gets a pooled session restored from the latest recorded
 *   checkpoint. User errors (ExecutionError, TimeoutError, …) are recorded and rethrown
 *   on replay; a crashed worker is retried (3 times, backing off) on a fresh worker.
 *   Limits and permissions are the pool's (`Capsule.open({ pool })`). Await the cells of
 *   one session one after another (concurrent calls are queued in call order). Each
 *   pass of a function (after a sleep or promise, or a restart) replays the recorded
 *   output of earlier cells to `onOutput` again, marked `replayed`.
 * - A step's record holds only the checkpoint links its cell added (a small increment,
 *   or a full checkpoint when the session's chain is rebased), so the store grows with
 *   what cells change; `EmbeddedNetwork.gc` removes finished executions.
 * - `handle.result()` rejects with the Capsule error class and `code` the execution ended
 *   with (ExecutionError, TimeoutError, CheckpointError, PoisonCellError, …), also when
 *   read back from the store by a later process (carried-error.ts).
 * - Poison cells: a step whose attempts killed the orchestrating process
 *   `poisonAfterKills` times (default 3) is recorded as failed with PoisonCellError
 *   (`POISON_CELL`, naming session, step index and the start of the source) instead of
 *   being run again on every restart (attempt-ledger.ts; one extra commit per step).
 * - Recovery: executions interrupted by a crash resume on their own once a function is
 *   registered (or on `capsule.recover()`); the embedded store releases the dead
 *   process's leases at open, so this takes well under a second.
 * - Named sessions outside durable functions (the CLI): `capsule.session("demo").execute(code)`
 *   records each call as the durable execution `session/demo/<n>`.
 * - Inspection: `list()`, `show(id)`, `tree(id)`.
 * - Remote mode: `Capsule.open({ url })` or env `RESONATE_URL` runs the same code against
 *   a server speaking the Resonate HTTP protocol through the SDK's HTTP network (cells
 *   still run in this process's pool; leases of tasks it started are kept alive). Tested
 *   against `capsule serve` (durable/serve/), the embedded store over HTTP; not against
 *   Resonate's own server, which cannot be installed in this repository's CI.
 * - Worker groups (remote mode): `ctx.session(name, { group: "cells" })` runs that
 *   session's cells in `capsule worker` processes of the group (`CapsuleWorker.start`,
 *   durable/groups/): each cell is a `ctx.rpc` of the generic cell function whose value
 *   is the same step record; the next cell prefers the worker holding the session live,
 *   and any worker restores it from the records in the store. With `onOutput` the
 *   worker streams the output through the store while the cell runs, and `input()`
 *   is the same durable question as in-process, answered by `onInput` or
 *   `capsule.answer` (groups/remote-watch.ts).
 */

export { Constant, Exponential, Linear, Never, type RetryPolicy } from "@resonatehq/sdk/async";
export { capabilityCallId } from "./capability-steps.ts";
export {
  Capsule,
  type CapsuleOptions,
  type DurableHandle,
  type RegisteredFunction,
} from "./capsule.ts";
export type { DurableExecuteOptions, DurableOutputChunk } from "./cell-runner.ts";
export type { DurableContext, SessionOptions } from "./context.ts";
export type { DurableFunction } from "./durable-function.ts";
export type { DurableSession } from "./durable-session.ts";
export type { DurableExecutionResult } from "./execution-result.ts";
export {
  CapsuleWorker,
  type RanOn,
  type SessionStart,
  type WorkerOptions,
} from "./groups/index.ts";
export { INPUT_KIND, inputPromiseId, type PendingInput } from "./human-input.ts";
export type {
  CellView,
  ExecutionSummary,
  Listing,
  SessionSummary,
  ShowView,
  TreeNode,
} from "./inspect.ts";
export type { NamedSession } from "./named-sessions.ts";
