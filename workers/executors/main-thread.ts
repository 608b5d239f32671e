/**
 * Runs a cell in the session's one realm, on the worker's main thread, whatever its
 * mode: every cell sees and changes the same objects (closures, class instances,
 * modules, identity). The synchronous part runs under the service thread's interrupt
 * guard, which is how cancel and timeout stop it (keeping what it did, as a notebook
 * does); an awaiting cell is stopped by the `stopped` promise winning the race.
 *
 * No V8 `timeout` or `breakOnSigint`: the service thread holds the deadline, so no cell
 * pays for a watchdog thread per run and no SIGINT is ever needed.
 */
import { compileUncached } from "../../src/vm/uncached-script.ts";
import type { SessionContext } from "../context.ts";
import { type CellOutcome, type CellPlan, isThenable } from "./plan.ts";
import type { CellService } from "./service-link.ts";

/** How a cell ended: its outcome, or what stopped it (a throw, or an interrupt). */
export interface CellEnd {
  succeeded(outcome: CellOutcome): void;
  failed(thrown: unknown): void;
}

/**
 * Starts the cell; `end` hears how it ends. Must be called from a dispatch point that an
 * interrupt may unwind (a message handler): when the synchronous part is terminated,
 * nothing after it runs here, and `end` still hears of it because it was attached to the
 * service thread's stop notice before that part began.
 */
export function startCell(
  plan: CellPlan,
  session: SessionContext,
  options: { filename: string; token: number; service: CellService },
  end: CellEnd,
): void {
  const stopped = options.service.whenStopped(options.token, plan.timeoutMs);
  const synchronous = Promise.withResolvers<CellOutcome>();
  // The end runs from the event loop (a promise reaction): as Capsule's code, so that a
  // stray callback's stop never cuts it.
  Promise.race([synchronous.promise, stopped]).then(
    (outcome) => options.service.runtime(() => end.succeeded(outcome)),
    (thrown: unknown) => options.service.runtime(() => end.failed(thrown)),
  );
  try {
    const script = compileUncached(plan.source, {
      filename: options.filename,
      importModuleDynamically: session.modules.dynamicImport,
    });
    const ran = options.service.guard(options.token, () =>
      script.runInContext(session.context, { displayErrors: false }),
    );
    // Stopped before it began: `stopped` settles the race.
    if ("value" in ran) synchronous.resolve(settle(plan, ran.value));
  } catch (thrown) {
    synchronous.reject(thrown);
  }
}

/** The cell's value: the completion itself, or what it resolves to for an async cell. */
function settle(plan: CellPlan, completion: unknown): CellOutcome | Promise<CellOutcome> {
  if (!plan.async && !isThenable(completion)) return { value: completion, mode: plan.mode };
  const mode = plan.mode === "simple_sync" ? "async_def" : plan.mode;
  return Promise.resolve(completion).then((value) => ({ value, mode }));
}
