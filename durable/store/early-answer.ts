/**
 * Which responses the store may return before the pending group commits (group-commit.ts)
 * instead of waiting one event-loop turn for it. Two kinds, each answered from memory
 * with nothing the disk could contradict after a crash:
 *
 * 1. A request that changed nothing (a `promise.get`, the create or fenced create of a
 *    step that is already recorded: every replayed step) and reads no object the pending
 *    group touched: its answer shows only committed state. With a group pending, only
 *    the kinds whose objects are known here qualify.
 * 2. The creation of a local step (`ctx.run`: `resonate:scope` local, no target, so no
 *    task and no message), fenced by a task that this process holds, that made exactly
 *    that one pending promise. Its answer says only "not recorded: run it", and the only
 *    one holding it is this process, which a crash before the commit takes down too:
 *    the promise is lost with it, and the resumed function creates it again and runs the
 *    step, the at-least-once contract every step has (a crash between a step's effect
 *    and its settlement re-runs it too). A task held elsewhere (a `capsule serve` client,
 *    which outlives this process) gets no early answer. The record rides in the group,
 *    so the settlement of a short step and the create commit as one transaction, and so
 *    does the poison marker a durable execute writes before its cell (attempt-ledger.ts).
 *    The settlement is the acknowledgment and still waits for its commit; a message, a
 *    task or a settled promise is never released before its commit.
 */
import type { Request } from "@resonatehq/sdk";
import type { ServerChange } from "./sdk.ts";
import type { TouchedObjects } from "./touched.ts";

/** Whether `request`'s response, whose apply made `changes`, may be released now. */
export function answersAtOnce(
  request: Request,
  changes: readonly ServerChange[],
  pending: TouchedObjects | undefined,
  heldHere: (taskId: string) => boolean,
): boolean {
  if (changes.length === 0) return pending === undefined || !readsPending(request, pending);
  return createsLocalStep(request, changes, pending, heldHere);
}

/** Whether the response may show an object of the pending group (true when unknown). */
function readsPending(request: Request, pending: TouchedObjects): boolean {
  switch (request.kind) {
    case "promise.get":
    case "promise.create":
      return pending.promises.has(request.data.id);
    case "task.fence":
      // The fence reads the task and its promise, the action its own promise.
      return (
        pending.tasks.has(request.data.id) ||
        pending.promises.has(request.data.id) ||
        pending.promises.has(request.data.action.data.id)
      );
    default:
      return true;
  }
}

function createsLocalStep(
  request: Request,
  changes: readonly ServerChange[],
  pending: TouchedObjects | undefined,
  heldHere: (taskId: string) => boolean,
): boolean {
  if (request.kind !== "task.fence" || request.data.action.kind !== "promise.create") return false;
  const task = request.data.id;
  // The fence passed on the task's state: that state must be committed too.
  if (!heldHere(task) || pending?.tasks.has(task) || pending?.promises.has(task)) return false;
  const create = request.data.action.data;
  const [change] = changes;
  return (
    changes.length === 1 &&
    change?.kind === "promise.set" &&
    change.promise.id === create.id &&
    change.promise.state === "pending" &&
    create.tags?.["resonate:scope"] === "local" &&
    create.tags["resonate:target"] === undefined
  );
}
