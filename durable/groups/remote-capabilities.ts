/**
 * Capabilities of a remote cell. The host functions are the orchestrator's (they are
 * closures of its process); the cell runs in a worker. A call travels as input() does,
 * through the store: call k of step S is the durable promise `S.cap-k`, the same id,
 * param, tags and encoding as an in-process call record (capability-steps.ts).
 *
 * - The worker creates the call pending (name and arguments) and waits for it to settle.
 *   It looks at the record backing off from 25 to 400 ms, as a question's asker does:
 *   the SDK's own listener (`resonate.get`) decodes the param with its JSON codec and
 *   refuses the MessagePack one a call record holds.
 * - The orchestrator's RemoteCellWatch finds it, runs the host function granted to the
 *   execute under that name, and resolves the promise with the result (MessagePack) or
 *   rejects it with the error's code and message.
 *
 * So a re-run of the cell (another worker, after a kill -9) meets the recorded result and
 * the host function is not called again; a call still pending is waited for, not made
 * again. A re-run that calls another capability at index k than the record says has
 * diverged: CAPABILITY_DIVERGED, as in-process. Only names sent in the cell request are
 * granted in the worker (they are protected names of the cell); the orchestrator refuses
 * a call of any other name with CAPABILITY_UNKNOWN (the worker is not trusted).
 */
import type { Network, PromiseRecord } from "@resonatehq/sdk";
import type { Capabilities, Capability } from "../../src/session/index.ts";
import {
  type CallOutcome,
  callHost,
  capabilityCallId,
  checkSameCall,
  createCallRecord,
  decodeData,
  ENCODING_HEADER,
  encodeData,
  recordedFailure,
  type StepIdentity,
  type StepPromises,
} from "../capability-steps.ts";
import { getPromise } from "../promise-query.ts";

const MAX_POLL_MS = 400;
const MSGPACK = { [ENCODING_HEADER]: "msgpack" };

/**
 * The worker's side: a stand-in for each granted name whose calls are records the
 * orchestrator answers. Make one per attempt: the call index starts at 0 with the cell.
 */
export function remoteCapabilities(
  names: readonly string[],
  store: StepPromises,
  step: StepIdentity,
  signal: AbortSignal,
): Capabilities {
  let calls = 0;
  const stubs: Record<string, Capability> = {};
  for (const name of names) {
    stubs[name] = (...args: unknown[]) => remoteCall(store, step, calls++, name, args, signal);
  }
  return stubs;
}

async function remoteCall(
  store: StepPromises,
  step: StepIdentity,
  index: number,
  name: string,
  args: unknown[],
  signal: AbortSignal,
): Promise<unknown> {
  const id = capabilityCallId(step.stepId, index);
  let record = await getPromise(store.send, id);
  if (record !== undefined) checkSameCall(record, index, name);
  else await createCallRecord(store, step, id, name, args);
  if (record === undefined || record.state === "pending") {
    record = await waitSettled(store.send, id, signal);
  }
  if (record.state === "resolved") return decodeData(record.value.data);
  throw recordedFailure(record.value.data);
}

/** Looks at call `id` until it settles, backing off; stops when the attempt ends. */
async function waitSettled(
  send: Network["send"],
  id: string,
  signal: AbortSignal,
): Promise<PromiseRecord> {
  let delay = 25;
  for (;;) {
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, delay);
      signal.addEventListener("abort", done, { once: true });
    });
    if (signal.aborted) throw new Error(`capability call ${id} abandoned: the cell ended`);
    delay = Math.min(delay * 2, MAX_POLL_MS);
    const record = await getPromise(send, id);
    if (record !== undefined && record.state !== "pending") return record;
  }
}

/**
 * The orchestrator's side: runs pending call `id` against `granted` and settles it.
 * Never throws for the host function's failure (that is the call's rejection); a
 * settle another process made first stands.
 */
export async function answerCall(
  store: StepPromises,
  call: PromiseRecord,
  granted: Capabilities,
): Promise<void> {
  const param = decodeData(call.param.data) as { name?: unknown; args?: unknown } | undefined;
  const name = typeof param?.name === "string" ? param.name : "";
  const args = Array.isArray(param?.args) ? (param.args as unknown[]) : [];
  const capability = Object.hasOwn(granted, name) ? granted[name] : undefined;
  const outcome: CallOutcome =
    capability === undefined
      ? {
          ok: false,
          code: "CAPABILITY_UNKNOWN",
          message: `capability ${name} is not granted to this execution`,
        }
      : await callHost(name, capability, args);
  const settle = outcome.ok
    ? store.promises.resolve(call.id, { headers: MSGPACK, data: encodeData(outcome.value) })
    : store.promises.reject(call.id, {
        headers: MSGPACK,
        data: encodeData({ code: outcome.code, message: outcome.message }),
      });
  await settle.catch(() => {
    // Settled already (another orchestrator process answered first): that record stands.
  });
}

/** The pending-or-settled record of call `index` of `stepId`, if the cell made it. */
export function getCall(
  send: Network["send"],
  stepId: string,
  index: number,
): Promise<PromiseRecord | undefined> {
  return getPromise(send, capabilityCallId(stepId, index));
}
