/**
 * The context a Capsule durable function receives: the Resonate async-engine context
 * (run, sleep, promise, rpc, detached, options, …) plus `session(name)`.
 *
 * Sessions are scoped to one execution: `ctx.session("main")` names the same session in
 * every pass of that execution, and a different one in any other execution. Child
 * workflows started with `ctx.run(fn)` receive the plain Resonate context.
 */
import type { Context } from "@resonatehq/sdk/async";
import type { AttemptLedger } from "./attempt-ledger.ts";
import { DurableSession } from "./durable-session.ts";
import type { HumanInputs } from "./human-input.ts";
import type { SessionScope } from "./session-scope.ts";

export interface SessionOptions {
  /**
   * Run this session's cells in the `capsule worker` processes of this Resonate worker
   * group instead of this process's pool (remote mode only). Default: in-process.
   */
  group?: string;
}

export interface DurableContext extends Context {
  /**
   * The durable session `name` of this execution (created on first use; the options of
   * the first call stand).
   */
  session(name: string, options?: SessionOptions): DurableSession;
}

/**
 * Wraps an SDK context. A Proxy (not a subclass or prototype copy) so that every SDK
 * method keeps running against the original object and its per-pass state.
 */
export function createDurableContext(
  ctx: Context,
  scope: SessionScope,
  attempts: AttemptLedger,
  inputs: HumanInputs,
): DurableContext {
  const handles = new Map<string, DurableSession>();
  const session = (name: string, options: SessionOptions = {}): DurableSession => {
    let handle = handles.get(name);
    if (handle === undefined) {
      handle = new DurableSession(name, ctx, scope.slot(name), attempts, inputs, options.group);
      handles.set(name, handle);
    }
    return handle;
  };
  return new Proxy(ctx, {
    get(target, property) {
      if (property === "session") return session;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as DurableContext;
}
