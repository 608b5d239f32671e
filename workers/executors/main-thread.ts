/**
 * The async executor: runs a cell on the worker's own event loop, in the session context.
 * The synchronous part is bounded by V8's script timeout and can be interrupted by SIGINT
 * (the host signals the process to cancel, since a busy loop never reads the pipe); the
 * asynchronous part is raced against the deadline and the cancel signal. Either way the
 * namespace keeps whatever the cell did before it was stopped.
 */
import vm from "node:vm";
import type { SessionContext } from "../context.ts";
import { CellInterrupt } from "../errors.ts";
import { type CellOutcome, type CellPlan, isThenable } from "./plan.ts";

export async function runOnMainThread(
  plan: CellPlan,
  session: SessionContext,
  options: { filename: string; signal: AbortSignal },
): Promise<CellOutcome> {
  const started = performance.now();
  const script = new vm.Script(plan.source, {
    filename: options.filename,
    importModuleDynamically: session.modules.dynamicImport,
  });
  // V8's timeout and SIGINT watchdogs start a thread per run; straight-line code skips them.
  const completion: unknown = script.runInContext(
    session.context,
    plan.bounded
      ? { displayErrors: false }
      : { timeout: plan.timeoutMs, breakOnSigint: true, displayErrors: false },
  );
  if (!plan.async && !isThenable(completion)) return { value: completion, mode: plan.mode };

  const mode = plan.mode === "simple_sync" ? "async_def" : plan.mode;
  const remaining = Math.max(0, plan.timeoutMs - (performance.now() - started));
  const value = await settleWithin(completion, remaining, options.signal);
  return { value, mode };
}

/** Awaits `value`, or rejects with a `CellInterrupt` at the deadline or on cancel. */
function settleWithin(value: unknown, timeoutMs: number, signal: AbortSignal): Promise<unknown> {
  if (signal.aborted)
    return Promise.reject(new CellInterrupt("EXECUTION_CANCELLED", "execution cancelled"));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      finish();
      reject(new CellInterrupt("LIMIT_TIMEOUT", `execution timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const onAbort = () => {
      finish();
      reject(new CellInterrupt("EXECUTION_CANCELLED", "execution cancelled"));
    };
    const finish = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    Promise.resolve(value).then(
      (result) => {
        finish();
        resolve(result);
      },
      (error: unknown) => {
        finish();
        reject(error);
      },
    );
  });
}
