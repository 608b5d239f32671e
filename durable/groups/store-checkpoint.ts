/**
 * The namespace after a session's step, rebuilt from the store alone: each step's record
 * holds only the checkpoint links its cell added, so the chain is read back step by step
 * (through each rpc promise's recorded request, which names the step before it) to the
 * last rebase, then applied oldest first. A step that failed without a record (its
 * worker crashed for good) added nothing: the walk goes on past it, as the in-process
 * path restores from the last recorded checkpoint.
 */
import type { Network, PromiseRecord } from "@resonatehq/sdk";
import { StoreError } from "../../src/errors.ts";
import type { SessionCheckpoint } from "../../src/session/index.ts";
import { decodeValue, getPromise } from "../promise-query.ts";
import { applyDelta, isStepRecord, type RecordedCheckpoint } from "../step-record.ts";
import { parseCellRequest } from "./cell-request.ts";

/** Waits until a promise is settled (it is pending while its cell still runs). */
export type WaitSettled = (id: string) => Promise<PromiseRecord>;

/** The request an rpc promise was created with (its param is the SDK's `{ func, args }`). */
function requestOf(record: PromiseRecord): { prev: string } {
  const param = decodeValue(record, "param") as { args?: unknown[] } | undefined;
  return parseCellRequest(param?.args?.[0]);
}

export async function checkpointAfter(
  send: Network["send"],
  stepId: string,
  waitSettled: WaitSettled,
): Promise<SessionCheckpoint | undefined> {
  const deltas: RecordedCheckpoint[] = [];
  let id = stepId;
  const seen = new Set<string>();
  while (id !== "") {
    if (seen.has(id)) throw new StoreError("STORE_CORRUPT", `step ${id} names itself as before`);
    seen.add(id);
    let record = await getPromise(send, id);
    if (record === undefined) {
      throw new StoreError("STORE_CORRUPT", `the session's step ${id} is not in the store`);
    }
    if (record.state === "pending") record = await waitSettled(id);
    if (record.state === "resolved") {
      const value = decodeValue(record);
      if (!isStepRecord(value)) {
        throw new StoreError("STORE_CORRUPT", `step ${id} does not hold an execute record`);
      }
      if (value.checkpoint !== undefined) {
        deltas.push(value.checkpoint);
        if (value.checkpoint.rebase) break;
      }
    }
    id = requestOf(record).prev;
  }
  let checkpoint: SessionCheckpoint | undefined;
  for (const delta of deltas.reverse()) checkpoint = applyDelta(checkpoint, delta);
  return checkpoint;
}
