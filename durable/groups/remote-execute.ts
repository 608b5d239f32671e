/**
 * The orchestrator's side of a remote cell: one `ctx.rpc` of the generic cell function,
 * targeted at the group with Resonate's own addressing (see target.ts). The rpc promise
 * is the durable step: its param is the request, its value the worker's StepRecord, so
 * a replay (in this process or a new one) returns the record without running anything.
 */
import type { Context, DurablePromise, RetryPolicy } from "@resonatehq/sdk/async";
import { checkCapabilities } from "../../src/session/capabilities.ts";
import type { DurableExecuteOptions } from "../cell-runner.ts";
import { CELL_FUNCTION, CELL_REQUEST_VERSION, type CellRequest } from "./cell-request.ts";
import { groupTarget } from "./target.ts";

export interface RemoteExecute {
  group: string;
  /** The worker that holds the session live, if known. */
  prefer: string | undefined;
  retryPolicy: RetryPolicy;
  session: string;
  index: number;
  code: string;
  prev: string;
  options: DurableExecuteOptions;
}

export function remoteExecute(ctx: Context, step: RemoteExecute): DurablePromise<unknown> {
  const { options } = step;
  // A capability stays a host function of this process: the worker gets its name, and
  // its calls come back through the store (remote-capabilities.ts).
  checkCapabilities(options.capabilities);
  const capabilities = Object.keys(options.capabilities ?? {});
  const request: CellRequest = {
    v: CELL_REQUEST_VERSION,
    execution: ctx.id,
    session: step.session,
    index: step.index,
    code: step.code,
    prev: step.prev,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.mode === undefined ? {} : { mode: options.mode }),
    // Only a caller that watches the output makes the worker write its live log.
    ...(options.onOutput === undefined ? {} : { live: true }),
    ...(options.inputTimeoutMs === undefined ? {} : { inputTimeoutMs: options.inputTimeoutMs }),
    ...(capabilities.length === 0 ? {} : { capabilities }),
  };
  return ctx.rpc<unknown>(
    CELL_FUNCTION,
    request,
    ctx.options({
      target: groupTarget(step.group, step.prefer),
      retryPolicy: step.retryPolicy,
      tags: {
        "capsule:session": step.session,
        "capsule:step": "execute",
        "capsule:group": step.group,
      },
    }),
  );
}
