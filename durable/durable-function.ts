/**
 * Turns a user's durable function (taking a DurableContext) into the function Resonate
 * registers (taking the SDK context), and manages the lifetime of its sessions.
 */
import type { Context } from "@resonatehq/sdk/async";
import type { AttemptLedger } from "./attempt-ledger.ts";
import { carryError } from "./carried-error.ts";
import { createDurableContext, type DurableContext } from "./context.ts";
import type { HumanInputs } from "./human-input.ts";
import type { SessionScopes } from "./session-scope.ts";

export type DurableFunction<Args extends unknown[], R> = (
  ctx: DurableContext,
  ...args: Args
) => Promise<R>;

/** The SDK ends a pass that waits on a remote promise with this signal (AsyncContext). */
function suspendSignalOf(ctx: Context): Promise<void> | undefined {
  const signal: unknown = Reflect.get(ctx, "suspendSignal");
  return signal instanceof Promise ? (signal as Promise<void>) : undefined;
}

export function wrapDurableFunction<Args extends unknown[], R>(
  func: DurableFunction<Args, R>,
  scopes: SessionScopes,
  attempts: AttemptLedger,
  inputs: HumanInputs,
): (ctx: Context, ...args: Args) => Promise<R> {
  return async (ctx: Context, ...args: Args): Promise<R> => {
    const scope = scopes.open(ctx.id);
    // A suspended pass never returns (its awaits hang by design): release its sessions
    // when it suspends rather than holding workers through a long sleep.
    void suspendSignalOf(ctx)?.then(() => scope.releaseWhenIdle());
    try {
      return await func(createDurableContext(ctx, scope, attempts, inputs), ...args);
    } catch (error) {
      // Recorded as the execution's rejection: keep its code for handle.result().
      throw carryError(error);
    } finally {
      scopes.close(ctx.id);
    }
  };
}
