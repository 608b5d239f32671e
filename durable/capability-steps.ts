/**
 * Capabilities inside a durable execute: every call is a durable promise, so a cell that
 * runs again (a worker crash, an orchestrator crash, a retry) does not call the host
 * function again for a call that already has a record.
 *
 * The promise of call k of step S (k counts every capability call of the cell, in the
 * order the cell made them, from 0) is `S.cap-k`. Its param holds the capability's name
 * and arguments; it is created and settled once the host function returned (resolved with
 * the result as MessagePack, rejected with the error's code and message), so the record
 * is there before the cell sees the result. A crash while the host function runs leaves
 * no record, and the re-run calls it again: "exactly once" holds for every call that
 * returned, the usual limit of any step that talks to the world.
 *
 * A re-run cell that calls a different capability at index k than the record says has
 * diverged (nondeterministic code, or the cell's inputs changed): its call fails with
 * CAPABILITY_DIVERGED and the host function is not called.
 */
import { decode, encode } from "@msgpack/msgpack";
import type { Network, PromiseRecord } from "@resonatehq/sdk";
import type { Resonate } from "@resonatehq/sdk/async";
import { CapabilityError } from "../src/errors.ts";
import { plainDataProblem } from "../src/protocol/plain-data.ts";
import type { Capabilities, Capability } from "../src/session/index.ts";
import { getPromise } from "./promise-query.ts";

/** Tag value (`capsule:kind`) of a recorded capability call. */
export const CAPABILITY_KIND = "capability";
/** Header saying the promise's data is MessagePack in base64 (exported for groups/). */
export const ENCODING_HEADER = "capsule:encoding";

/** Where the durable promises of one step live. */
export interface StepPromises {
  send: Network["send"];
  promises: Resonate["promises"];
}

/** The step a cell runs as: its promise id and the execution's origin (for tags). */
export interface StepIdentity {
  stepId: string;
  originId: string;
}

/** The id of capability call `index` of step `stepId`. */
export function capabilityCallId(stepId: string, index: number): string {
  return `${stepId}.cap-${index}`;
}

/**
 * Wraps `granted` so that each call of one run of the cell is a durable promise of the
 * step. Make a new wrapper per attempt: the call index starts at 0 with the cell.
 */
export function durableCapabilities(
  granted: Capabilities,
  store: StepPromises,
  step: StepIdentity,
): Capabilities {
  let calls = 0;
  const wrapped: Record<string, Capability> = {};
  for (const [name, capability] of Object.entries(granted)) {
    wrapped[name] = (...args: unknown[]) =>
      recordedCall(store, step, calls++, name, args, capability);
  }
  return wrapped;
}

async function recordedCall(
  store: StepPromises,
  step: StepIdentity,
  index: number,
  name: string,
  args: unknown[],
  capability: Capability,
): Promise<unknown> {
  const id = capabilityCallId(step.stepId, index);
  const recorded = await getPromise(store.send, id);
  if (recorded !== undefined) {
    checkSameCall(recorded, index, name);
    if (recorded.state === "resolved") return decodeData(recorded.value.data);
    if (recorded.state === "rejected") throw recordedFailure(recorded.value.data);
    // Pending: the process died between recording the call and its result. Call again.
  }
  const outcome = await callHost(name, capability, args);
  await createCallRecord(store, step, id, name, args);
  if (outcome.ok) {
    const settled = await store.promises.resolve(id, {
      headers: { [ENCODING_HEADER]: "msgpack" },
      data: encodeData(outcome.value),
    });
    // Settling is idempotent: a record another attempt made first is the one that counts.
    return decodeData(settled.value.data);
  }
  await store.promises.reject(id, {
    headers: { [ENCODING_HEADER]: "msgpack" },
    data: encodeData({ code: outcome.code, message: outcome.message }),
  });
  throw Object.assign(new Error(outcome.message), { code: outcome.code });
}

/** What a host function's call came to: its result, or the code and message of its failure. */
export type CallOutcome =
  | { ok: true; value: unknown }
  | { ok: false; code: string; message: string };

/** Calls the host function; never throws (its failure is the outcome). */
export async function callHost(
  name: string,
  capability: Capability,
  args: unknown[],
): Promise<CallOutcome> {
  try {
    const value = await capability(...args);
    const problem = plainDataProblem(value, `the result of ${name}()`);
    return problem === undefined
      ? { ok: true, value }
      : { ok: false, code: "CAPABILITY_BAD_RESULT", message: problem };
  } catch (error) {
    const code =
      typeof error === "object" && error !== null && typeof Reflect.get(error, "code") === "string"
        ? String(Reflect.get(error, "code"))
        : "CAPABILITY_FAILED";
    return { ok: false, code, message: error instanceof Error ? error.message : String(error) };
  }
}

/** Creates the record of call `id` (pending: name and arguments). */
export async function createCallRecord(
  store: StepPromises,
  step: StepIdentity,
  id: string,
  name: string,
  args: unknown[],
): Promise<void> {
  await store.promises.create(id, Number.MAX_SAFE_INTEGER, {
    headers: { [ENCODING_HEADER]: "msgpack" },
    data: encodeData({ name, args }),
    tags: {
      "resonate:origin": step.originId,
      "resonate:parent": step.stepId,
      "capsule:kind": CAPABILITY_KIND,
      "capsule:capability": name,
    },
  });
}

/** @throws CapabilityError (CAPABILITY_DIVERGED) when call `index`'s record is of another name. */
export function checkSameCall(recorded: PromiseRecord, index: number, name: string): void {
  const recordedName = recorded.tags["capsule:capability"];
  if (recordedName !== name) {
    throw new CapabilityError(
      "CAPABILITY_DIVERGED",
      `the cell diverged from its record: call ${index} was ${recordedName ?? "(unknown)"}() when it first ran, and is ${name}() now; ${name} was not called`,
    );
  }
}

/** The error a rejected call record stands for (its code and message). */
export function recordedFailure(data: unknown): Error {
  const fields = decodeData(data) as { code?: unknown; message?: unknown } | undefined;
  const message = typeof fields?.message === "string" ? fields.message : "capability failed";
  const code = typeof fields?.code === "string" ? fields.code : "CAPABILITY_FAILED";
  return Object.assign(new Error(message), { code });
}

/** MessagePack in base64: keeps Date, Uint8Array and the rest as the cell gave them. */
export function encodeData(value: unknown): string {
  return Buffer.from(encode(value, { ignoreUndefined: true })).toString("base64");
}

export function decodeData(data: unknown): unknown {
  if (typeof data !== "string" || data === "") return undefined;
  return decode(Buffer.from(data, "base64"));
}
