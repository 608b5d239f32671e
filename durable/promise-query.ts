/**
 * Reads of durable promises through a Resonate `Network` (embedded store or server):
 * one promise by id, all promises matching tags (every page), decoded values.
 */
import { Codec, type Network, type PromiseRecord } from "@resonatehq/sdk";
import { CapsuleError, StoreError } from "../src/errors.ts";
import { PROTOCOL_VERSION } from "./store/sdk.ts";

const codec = new Codec();
let corr = 0;

function head(): { corrId: string; version: string } {
  corr++;
  return { corrId: `capsule-query-${process.pid}-${corr}`, version: PROTOCOL_VERSION };
}

/** The promise `id`, or undefined when there is none. */
export async function getPromise(
  send: Network["send"],
  id: string,
): Promise<PromiseRecord | undefined> {
  const res = await send({ kind: "promise.get", head: head(), data: { id } });
  if (res.head.status === 404) return undefined;
  if (res.head.status !== 200 || typeof res.data !== "object") {
    throw new StoreError("STORE_CORRUPT", `reading promise ${id} failed: ${String(res.data)}`);
  }
  return res.data.promise;
}

/** Every promise whose tags include all of `tags`, oldest first. */
export async function searchPromises(
  send: Network["send"],
  tags: Record<string, string>,
): Promise<PromiseRecord[]> {
  const found: PromiseRecord[] = [];
  let cursor: string | undefined;
  do {
    const res = await send({
      kind: "promise.search",
      head: head(),
      data: { tags, limit: 1_000, ...(cursor === undefined ? {} : { cursor }) },
    });
    if (res.head.status !== 200 || typeof res.data !== "object") {
      throw new CapsuleError(
        "DURABLE_NOT_FOUND",
        `searching promises failed (status ${res.head.status}): ${String(res.data)}`,
      );
    }
    found.push(...res.data.promises);
    cursor = res.data.cursor;
  } while (cursor !== undefined);
  return found;
}

/** The decoded value of a settled promise (or its param, for `which: "param"`). */
export function decodeValue(record: PromiseRecord, which: "value" | "param" = "value"): unknown {
  return codec.decode(which === "value" ? record.value : record.param);
}
